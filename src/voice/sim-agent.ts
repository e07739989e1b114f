import type { AgentReport } from '../insights/insights.js';
import { humanize } from '../insights/schema.js';
import { AI_DISCLOSURE, withDisclosure } from './disclosure.js';
import type { AgentPlan, Heard, VoiceEngine, VoiceLine } from './engine.js';


/**
 * The scripted voice agent: no model, deterministic. It discloses that it is an AI, finds its way past an
 * IVR, leaves a voicemail when it reaches one, asks one question per insight field, and reports what it heard.
 */
export class ScriptedAgent implements VoiceEngine {
  async run(plan: AgentPlan, line: VoiceLine): Promise<AgentReport> {
    let heard = await line.listen();
    heard = await this.passIvr(line, heard);
    if (heard.kind === 'hangup') return { outcome: 'hung_up', summary: 'The line hung up before anyone spoke.', fields: emptyFields(plan) };
    if (heard.kind === 'beep' || line.answeredBy === 'machine' || looksLikeVoicemail(heard)) return this.leaveVoicemail(plan, line, heard);

    if (plan.mode === 'notify') {
      await line.say(withDisclosure(plan.message) ?? AI_DISCLOSURE);
      await line.hangup();
      return { outcome: 'notified', summary: 'Delivered the message to a person.', fields: emptyFields(plan) };
    }

    await line.say(withDisclosure(plan.message) ?? AI_DISCLOSURE);
    const fields: Record<string, string | null> = {};
    for (const field of plan.fields) {
      await line.say(`Could you tell me the ${humanize(field.name)}${field.description ? ` (${field.description})` : ''}?`);
      const answer = await line.listen();
      if (answer.kind === 'hangup') {
        fields[field.name] = null;
        return report(plan, fields, 'The callee hung up before every question was answered.');
      }
      fields[field.name] = answer.kind === 'speech' ? extractAnswer(answer.text) : null;
    }
    await line.say('Thank you, that is everything I needed. Goodbye!');
    await line.hangup();
    return report(plan, fields);
  }

  /** At an IVR menu, press the digit it offers for a person; anything else is returned as heard. */
  private async passIvr(line: VoiceLine, heard: Heard): Promise<Heard> {
    for (let menus = 0; menus < 3 && heard.kind === 'speech'; menus++) {
      const digit = IVR_PERSON.exec(heard.text)?.slice(1).find(Boolean);
      if (!digit) return heard;
      await line.pressDigits(digit);
      heard = await line.listen();
    }
    return heard;
  }

  private async leaveVoicemail(plan: AgentPlan, line: VoiceLine, heard: Heard): Promise<AgentReport> {
    // Wait for the tone so the message is not cut off by the greeting.
    while (heard.kind === 'speech') heard = await line.listen();
    const message = plan.voicemailMessage ?? (plan.mode === 'notify' ? plan.message : null);
    if (heard.kind === 'beep' && message) {
      await line.say(withDisclosure(message)!);
      await line.hangup();
      return { outcome: 'voicemail_left', summary: 'Reached voicemail and left the message.', fields: emptyFields(plan) };
    }
    await line.hangup();
    return { outcome: 'voicemail_no_message', summary: 'Reached voicemail; no voicemail message was set, so none was left.', fields: emptyFields(plan) };
  }
}

function report(plan: AgentPlan, fields: Record<string, string | null>, note?: string): AgentReport {
  const got = Object.entries(fields).filter(([, v]) => v !== null).map(([k]) => k);
  const total = plan.fields.length;
  const outcome = total === 0 ? 'conversation_held' : got.length === total ? 'all_fields_collected' : got.length ? 'some_fields_collected' : 'no_fields_collected';
  const collected = total === 0 ? 'No fields were requested.' : `Collected ${got.length} of ${total} field(s)${got.length ? `: ${got.join(', ')}` : ''}.`;
  return { outcome, summary: note ? `${collected} ${note}` : collected, fields: { ...emptyFields(plan), ...fields } };
}

function emptyFields(plan: AgentPlan): Record<string, string | null> {
  return Object.fromEntries(plan.fields.map((f) => [f.name, null]));
}

const PERSON = '(?:a person|someone|an operator|a representative)';
const IVR_PERSON = new RegExp(`press ([0-9*#]) to (?:speak|talk) (?:to|with) ${PERSON}|to (?:speak|talk) (?:to|with) ${PERSON},? press ([0-9*#])`, 'i');
const DONT_KNOW = /\b(don'?t know|not sure|no idea|can'?t say)\b/i;

/** "The price per square is $450." → "$450"; a plain reply is taken whole; "I don't know" is null. */
export function extractAnswer(text: string): string | null {
  if (DONT_KNOW.test(text)) return null;
  const value = /\b(?:is|are|would be|will be)\s+(.+?)[.!]?$/i.exec(text)?.[1] ?? text.replace(/[.!]$/, '');
  return value.trim() || null;
}

function looksLikeVoicemail(heard: Heard): boolean {
  return heard.kind === 'speech' && /leave (?:a|your) message|after the (?:tone|beep)/i.test(heard.text);
}
