import { z } from 'zod';
import { MAX_WAIT_SECONDS } from '../../limits.js';
import { CALL_STATUSES } from '../../calls/lifecycle.js';
import { defineTool, progressSender, type ToolDefinition } from '../tool.js';

const callId = z.string().min(1);
const spoken = z.string().min(1).max(2800).describe('What to say, as plain text');

/** Tools for conversation calls: the client's own agent talks on the phone, turn by turn. */
export const conversationTools: ToolDefinition[] = [
  defineTool({
    name: 'continue_call',
    title: 'Continue call',
    description: `Talk on a live conversation call (mode "conversation", or an inbound call you take): says \`message\` if given, then waits for the callee's next complete utterance and returns {heard, status, turn}. Without message it only listens (use that first, for the reply to your opening line). heard is null with a reason (timeout, hangup) when nothing was said. Waits at most timeout_seconds (default 20, at most ${MAX_WAIT_SECONDS}) and sends progress notifications meanwhile; only one continue_call may wait on a call at a time. End the call with end_call.`,
    input: z.object({
      call_id: callId,
      message: spoken.optional(),
      timeout_seconds: z.number().min(1).max(MAX_WAIT_SECONDS).optional().describe(`Default 20, at most ${MAX_WAIT_SECONDS}`),
    }),
    output: z.object({
      call_id: z.string(),
      heard: z.string().nullable().describe('What the callee said, or null'),
      reason: z.enum(['timeout', 'hangup']).nullable().describe('Why heard is null'),
      status: z.enum(CALL_STATUSES),
      turn: z.number().int().describe('How many callee utterances this call has returned so far'),
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    handle: async (app, args, extra) => {
      const progress = progressSender(extra);
      const result = await app.conversations.continueCall(args.call_id, args.message, (args.timeout_seconds ?? 20) * 1000, () =>
        void progress(0, 1, 'listening to the callee').catch(() => undefined),
      );
      return { call_id: args.call_id, heard: result.heard, reason: result.reason ?? null, status: app.calls.statusOf(args.call_id).status, turn: result.turn };
    },
  }),

  defineTool({
    name: 'speak_to_user',
    title: 'Speak to user',
    description: 'Say something on a live conversation call without waiting for a reply (a filler while you work, an update): returns as soon as it is queued; what you queue is said in order. Use continue_call to hear the answer.',
    input: z.object({ call_id: callId, message: spoken }),
    output: z.object({ call_id: z.string(), queued: z.literal(true) }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    handle: (app, args) => {
      app.conversations.speakToUser(args.call_id, args.message);
      return { call_id: args.call_id, queued: true as const };
    },
  }),
];
