import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { App } from '../../app.js';
import { DoNotContactEntry, Message, phoneNumber as e164 } from '../schemas.js';
import { defineTool, READ_ONLY } from '../tool.js';


export function registerMessageTools(server: McpServer, app: App): void {
  const { messages, doNotContact, log } = app;

  defineTool(server, log, {
    name: 'schedule_sms',
    title: 'Send or schedule an SMS',
    description:
      'Send a text message now, or at scheduled_at. Returns with message_id as soon as the carrier has taken it (a refusal is an error); the status moves to sent and delivered (or failed with the carrier\'s reason). Replies show up in list_messages. Numbers on the do-not-contact list (for example after they texted STOP) are never messaged.',
    input: z.object({
      to: e164,
      body: z.string().describe('Up to 1600 characters'),
      from: e164.optional().describe('Sender; default SWITCHBOARD_FROM_NUMBER'),
      scheduled_at: z.string().optional().describe('ISO 8601 time with zone; omit to send now'),
      mission_id: z.string().optional(),
      step_id: z.string().optional(),
      idempotency_key: z.string().min(1).max(200).optional().describe('Same key → same message, never sent twice'),
    }),
    output: Message.extend({ created: z.boolean() }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    handle: async (args) => {
      const { message, created } = messages.schedule(args);
      const current = created && args.scheduled_at === undefined ? await messages.confirmSend(message.message_id) : message;
      return { ...current, created };
    },
  });

  defineTool(server, log, {
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
    handle: ({ mission_id, ...rest }) => ({ messages: messages.list({ ...rest, mission_id: mission_id && app.missions.resolveId(mission_id) }) }),
  });

  defineTool(server, log, {
    name: 'list_do_not_contact',
    title: 'List do-not-contact numbers',
    description: 'Numbers Switchboard will not call or text: those who replied STOP and those added by hand.',
    input: z.object({}),
    output: z.object({ entries: z.array(DoNotContactEntry) }),
    annotations: READ_ONLY,
    handle: () => ({ entries: doNotContact.list() }),
  });

  defineTool(server, log, {
    name: 'add_do_not_contact',
    title: 'Add a do-not-contact number',
    description: 'Stop all calls and SMS to a number, including ones already scheduled. Use when someone asks not to be contacted.',
    input: z.object({ number: e164, reason: z.string().max(500).optional() }),
    output: DoNotContactEntry,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    handle: ({ number, reason }) => doNotContact.add(number, reason ?? 'Added by the client'),
  });

  defineTool(server, log, {
    name: 'remove_do_not_contact',
    title: 'Remove a do-not-contact number',
    description: 'Allow calls and SMS to a number again. Only do this when the person has asked to be contacted.',
    input: z.object({ number: e164 }),
    output: z.object({ number: z.string(), removed: z.boolean() }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    handle: ({ number }) => ({ number, removed: doNotContact.remove(number) }),
  });
}
