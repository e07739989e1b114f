import { z } from 'zod';
import { AMD_MODES, CALL_MODES } from '../../telephony/provider.js';
import { CALL_STATUSES } from '../../calls/lifecycle.js';
import { waitForCalls, waitForInbound } from '../../calls/wait.js';
import { Call, CallSummary, insightSchemaInput, jsonObject, phoneNumber as e164, retryInput } from '../schemas.js';
import { MAX_WAIT_SECONDS } from '../../limits.js';
import { defineTool, progressSender, READ_ONLY, type ToolDefinition } from '../tool.js';


/** Placing, reading, ending and waiting for phone calls. */
export const callTools: readonly ToolDefinition[] = [
  defineTool({
    name: 'initiate_call',
    title: 'Place a phone call',
    description:
      'Place (or schedule) an outbound phone call; returns with its call_id as soon as the carrier has taken it (a carrier refusal is an error), or at once when scheduled. mode "agent" (default) runs a voice agent that discloses it is an AI, asks one question per insight_schema field and reports answers; "notify" speaks `message` and hangs up. Add retry to redial on busy/no answer, amd to detect voicemail (and leave voicemail_message). Link to a mission step with mission_id/step_id. Then use wait_for_calls or get_call for the outcome, transcript and fields. Reuse idempotency_key when retrying a request so the number is never dialed twice. Guardrails: a call due outside calling hours in the callee\'s time zone (give `timezone` when you know it), or over the daily cap for the number, is accepted and deferred to the next opening: status "scheduled", `deferred` says until when and why.',
    input: z.object({
      to: e164,
      from: e164.optional().describe('Caller id; default SWITCHBOARD_FROM_NUMBER'),
      mode: z.enum(CALL_MODES).optional(),
      // Carriers speak at most 3,000 characters at once; the AI disclosure takes about 100 of them.
      message: z.string().max(2800).optional().describe('notify: the text to speak; agent: the opening line'),
      instructions: z.string().max(8000).optional().describe('What the agent should achieve on the call'),
      assistant_id: z.string().optional().describe('A saved assistant (asst_…) whose settings fill what is not given here'),
      insight_schema: insightSchemaInput.optional(),
      scheduled_at: z.string().optional().describe('ISO 8601 time with zone; omit to call now'),
      timezone: z.string().optional().describe('The callee\'s IANA time zone (e.g. America/Chicago) for calling hours; default: derived from the number'),
      retry: retryInput.optional(),
      amd: z.enum(AMD_MODES).optional().describe('Answering-machine detection; "voicemail" leaves voicemail_message after the beep'),
      voicemail_message: z.string().max(2000).optional(),
      mission_id: z.string().optional(),
      step_id: z.string().optional(),
      idempotency_key: z.string().min(1).max(200).optional(),
      metadata: jsonObject.optional(),
    }),
    output: Call.extend({ created: z.boolean() }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    handle: async (app, args) => {
      const { call, created } = app.calls.initiate(args);
      // A call placed now answers once the carrier took it, so a refusal comes back as an error; one the guardrails
      // deferred answers at once, `scheduled` with `deferred` saying why and until when.
      const current = created && args.scheduled_at === undefined && !call.deferred ? await app.calls.confirmDial(call.call_id) : call;
      return { ...current, created };
    },
  }),

  defineTool({
    name: 'get_call',
    title: 'Get call',
    description: 'One call: status, every attempt, who answered (human/machine), duration, the transcript so far, outcome and collected fields.',
    input: z.object({ call_id: z.string().min(1) }),
    output: Call,
    annotations: READ_ONLY,
    handle: (app, { call_id }) => app.calls.get(call_id),
  }),

  defineTool({
    name: 'list_calls',
    title: 'List calls',
    description: 'Calls, newest first, optionally of one mission or with one status.',
    input: z.object({
      mission_id: z.string().optional(),
      status: z.enum(CALL_STATUSES).optional(),
      limit: z.number().int().min(1).max(500).optional().describe('Default 50'),
    }),
    output: z.object({ calls: z.array(CallSummary) }),
    annotations: READ_ONLY,
    handle: (app, { mission_id, ...rest }) => ({ calls: app.calls.list({ ...rest, mission_id: mission_id && app.missions.resolveId(mission_id) }) }),
  }),

  defineTool({
    name: 'end_call',
    title: 'End call',
    description: 'Cancel a call that has not been dialed yet (including one waiting to retry), or hang up a live call; its retry policy never dials it again. Ending a call that already ended changes nothing.',
    input: z.object({ call_id: z.string().min(1) }),
    output: Call,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    handle: (app, { call_id }) => app.calls.end(call_id),
  }),

  defineTool({
    name: 'wait_for_calls',
    title: 'Wait for calls',
    description: `Wait until calls finish instead of polling: returns as soon as any (or all) of the given calls, or of a mission's calls, reach a final status, or after timeout_seconds (at most ${MAX_WAIT_SECONDS}). With until "inbound" (no call_ids), returns the moment an inbound call rings through for you to take with continue_call. Sends progress notifications while waiting. Call again if it times out.`,
    input: z.object({
      call_ids: z.array(z.string()).max(500).optional(),
      mission_id: z.string().optional(),
      until: z.enum(['any', 'all', 'inbound']).optional().describe('Default all; "inbound" waits for an inbound call to take'),
      timeout_seconds: z.number().min(0).max(MAX_WAIT_SECONDS).optional().describe(`Default 30, at most ${MAX_WAIT_SECONDS}`),
    }),
    output: z.object({ done: z.boolean(), timed_out: z.boolean(), calls: z.array(CallSummary) }),
    annotations: READ_ONLY,
    handle: (app, args, extra) => {
      const wait = {
        timeoutMs: (args.timeout_seconds ?? 30) * 1000,
        signal: extra.signal,
        onProgress: progressSender(extra),
      };
      if (args.until === 'inbound') return waitForInbound(app, wait);
      return waitForCalls(app, { ...wait, callIds: args.call_ids, missionId: args.mission_id, until: args.until ?? 'all' });
    },
  }),
];
