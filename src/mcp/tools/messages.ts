import { z } from 'zod';
import { DoNotContactEntry, Message, phoneNumber as e164 } from '../schemas.js';
import { defineTool, READ_ONLY, type ToolDefinition } from '../tool.js';

/** SMS both ways, and the do-not-contact list that guards calls and SMS. */
export const messageTools: readonly ToolDefinition[] = [
  defineTool({
    name: 'schedule_sms',
    title: 'Send or schedule an SMS',
    description:
      'Send a text message now, or at scheduled_at. Returns with message_id as soon as the carrier has taken it (a refusal is an error); the status moves to sent and delivered (or failed with the carrier\'s reason). Replies show up in list_messages. Numbers on the do-not-contact list (for example after they texted STOP) are never messaged. A message due outside calling hours in the recipient\'s time zone, or over the daily cap for the number, is accepted and deferred to the next opening (`deferred` says until when and why).',
    input: z.object({
      to: e164,
      body: z.string().describe('Up to 1600 characters'),
      from: e164.optional().describe('Sender; default SWITCHBOARD_FROM_NUMBER'),
      scheduled_at: z.string().optional().describe('ISO 8601 time with zone; omit to send now'),
      timezone: z.string().optional().describe('The recipient\'s IANA time zone (e.g. Europe/Paris) for calling hours; default: derived from the number'),
      mission_id: z.string().optional(),
      step_id: z.string().optional(),
      idempotency_key: z.string().min(1).max(200).optional().describe('Same key → same message, never sent twice'),
    }),
    output: Message.extend({ created: z.boolean() }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    handle: async (app, args) => {
      const { message, created } = app.messages.schedule(args);
      const current = created && args.scheduled_at === undefined && !message.deferred ? await app.messages.confirmSend(message.message_id) : message;
      return { ...current, created };
    },
  }),

  defineTool({
    name: 'list_messages',
    title: 'List SMS messages',
    description: 'SMS both ways, newest first: the thread with one number (`with`), a mission\'s messages, or only inbound replies (direction "inbound").',
    input: z.object({
      with: e164.optional().describe('Only messages to or from this number'),
      mission_id: z.string().optional(),
      direction: z.enum(['outbound', 'inbound']).optional(),
      limit: z.number().int().min(1).max(500).optional().describe('Default 50'),
    }),
    output: z.object({ messages: z.array(Message) }),
    annotations: READ_ONLY,
    handle: (app, { mission_id, ...rest }) => ({ messages: app.messages.list({ ...rest, mission_id: mission_id && app.missions.resolveId(mission_id) }) }),
  }),

  defineTool({
    name: 'list_do_not_contact',
    title: 'List do-not-contact numbers',
    description: 'Numbers Switchboard will not call or text: those who replied STOP, those who asked on a call not to be called again, and those added by hand.',
    input: z.object({}),
    output: z.object({ entries: z.array(DoNotContactEntry) }),
    annotations: READ_ONLY,
    handle: (app) => ({ entries: app.doNotContact.list() }),
  }),

  defineTool({
    name: 'add_do_not_contact',
    title: 'Add a do-not-contact number',
    description: 'Stop all calls and SMS to a number: live calls to it are hung up and scheduled ones are not placed. Use when someone asks not to be contacted.',
    input: z.object({ number: e164, reason: z.string().max(500).optional() }),
    output: DoNotContactEntry,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    handle: (app, { number, reason }) => app.doNotContact.add(number, reason ?? 'Added by the client'),
  }),

  defineTool({
    name: 'remove_do_not_contact',
    title: 'Remove a do-not-contact number',
    description: 'Allow calls and SMS to a number again. Only do this when the person has asked to be contacted.',
    input: z.object({ number: e164 }),
    output: z.object({ number: z.string(), removed: z.boolean() }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    handle: (app, { number }) => ({ number, removed: app.doNotContact.remove(number) }),
  }),
];
