import type { InsightField } from '../insights/schema.js';
import type { AgentPlan } from './engine.js';

/**
 * What the realtime model is told: the call's own instructions, the fields to collect and the three functions.
 * The disclosure is not left to the model: the carrier speaks it before the model is connected (see LiveVoice).
 */
export function sessionConfig(plan: AgentPlan, opts: { model: string; voice: string }): Record<string, unknown> {
  return {
    type: 'realtime',
    model: opts.model,
    output_modalities: ['audio'],
    instructions: instructions(plan),
    audio: {
      input: {
        format: { type: 'audio/pcmu' },
        // Server VAD ends a turn after a fixed 500 ms of silence, so every turn's delay is bounded and known; semantic
        // VAD may wait seconds for a "complete thought", which on a phone line (and at an IVR prompt) sounds dead.
        turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, create_response: true, interrupt_response: true },
        transcription: { model: 'gpt-4o-mini-transcribe' },
        noise_reduction: { type: 'near_field' },
      },
      output: { format: { type: 'audio/pcmu' }, voice: opts.voice },
    },
    tools: tools(plan.fields),
    tool_choice: 'auto',
  };
}

/** The first response: the opening line, asked for as soon as the call is answered. */
export function openingInstructions(plan: AgentPlan): string {
  return plan.message?.trim()
    ? `Start the conversation now. Say exactly: "${plan.message.trim()}"`
    : 'Start the conversation now: greet the callee briefly and say why you are calling.';
}

function instructions(plan: AgentPlan): string {
  const lines = [
    'You are a voice agent on a live phone call, speaking for the user of an AI assistant.',
    'Before you were connected, the callee heard that this call is from an AI assistant. If asked, always say you are an AI; never claim to be a person.',
    `Your task: ${plan.instructions?.trim() || 'have a short, polite conversation about the reason for the call.'}`,
  ];
  if (plan.message?.trim()) lines.push(`Your opening line: "${plan.message.trim()}"`);
  if (plan.fields.length) {
    lines.push('Find out these facts, one question at a time:', ...plan.fields.map(describeField));
  }
  lines.push(
    'When you have them (or the callee cannot or will not give them), call report_call with the outcome, a one-sentence summary and the fields (null for any you did not learn), then say a short goodbye and call end_call.',
    'If an automated menu answers, call send_dtmf with the key that reaches a person or the right department.',
    'If the callee asks not to be called again, apologise, call report_call with outcome "opt_out", and end the call.',
    'Keep every turn short and natural: this is a phone call.',
  );
  return lines.join('\n');
}

function describeField(f: InsightField): string {
  return `- ${f.name}${f.description ? `: ${f.description}` : ''}`;
}

function tools(fields: InsightField[]): Record<string, unknown>[] {
  const properties = Object.fromEntries(
    fields.map((f) => [f.name, { type: ['string', 'null'], ...(f.description && { description: f.description }) }]),
  );
  return [
    {
      type: 'function',
      name: 'report_call',
      description: 'Report what the call achieved and the facts collected. Call it once, before saying goodbye.',
      parameters: {
        type: 'object',
        properties: {
          outcome: { type: 'string', description: 'completed, declined, opt_out, wrong_number, voicemail or another short word' },
          summary: { type: 'string', description: 'One sentence on what happened.' },
          fields: { type: 'object', properties, required: fields.map((f) => f.name), additionalProperties: false },
        },
        required: ['outcome', 'summary', 'fields'],
      },
    },
    {
      type: 'function',
      name: 'send_dtmf',
      description: 'Press keys on the phone keypad, for automated menus. Digits 0-9, * and #; w waits half a second.',
      parameters: { type: 'object', properties: { digits: { type: 'string' } }, required: ['digits'] },
    },
    {
      type: 'function',
      name: 'end_call',
      description: 'Hang up, after what you have said has been heard. Use it after your goodbye.',
      parameters: { type: 'object', properties: { reason: { type: 'string' } }, required: [] },
    },
  ];
}
