import { afterEach, describe, expect, it } from 'vitest';
import { GOODBYE, HOLD_LINE, INBOUND_HOLD, MESSAGE_TAKEN, TAKE_MESSAGE } from '../src/conversation/conversations.js';
import { AI_DISCLOSURE, INBOUND_DISCLOSURE } from '../src/voice/disclosure.js';
import { TelnyxEmulator } from './fakes/telnyx-emulator.js';
import { TwilioEmulator, type Callee } from './fakes/twilio-emulator.js';
import { freePort, startHarness, tempDir, until, type Harness } from './helpers.js';

/**
 * Conversation calls end to end on a real carrier's emulator: an MCP client talks turn by turn with continue_call,
 * the carrier speaks with its text-to-speech and hears with its own speech recognition, and a simulated person
 * answers in text. Every scenario runs on each carrier (one test file per carrier, side by side).
 */

const OUR_NUMBER = '+12125550100';
const ROOFER = '+12125550150';
const CALLER = '+12125550160';
const OPENING = 'Hi, I am calling about a roof repair. What is your price per square?';

export type Person = { replies?: string[]; facts?: Record<string, string> };

/** One carrier, emulated, as these tests need it. */
export type ConversationNetwork = {
  env(port: number): Record<string, string>;
  /** Who answers (or calls from) `number`, talking in text. */
  person(number: string, person: Person): void;
  /** Someone calls our number. */
  ring(from: string): void;
  close(): Promise<void>;
};

export async function telnyxNetwork(): Promise<ConversationNetwork> {
  const telnyx = await TelnyxEmulator.start({ speakMs: 20 });
  return {
    env: (port) => telnyx.switchboardEnv(port, OUR_NUMBER),
    person: (number, person) => telnyx.scriptConversation(number, person),
    ring: (from) => void telnyx.inboundCall(from, OUR_NUMBER),
    close: () => telnyx.close(),
  };
}

export async function twilioNetwork(): Promise<ConversationNetwork> {
  const people: Record<string, Callee> = {};
  const twilio = await new TwilioEmulator(`AC${'ab'.repeat(16)}`, '0123456789abcdef0123456789abcdef', people).start();
  return {
    env(port) {
      const publicUrl = `http://127.0.0.1:${port}`;
      twilio.numberWebhooks = { voiceUrl: `${publicUrl}/webhooks/twilio/voice`, smsUrl: `${publicUrl}/webhooks/twilio/sms`, statusCallback: `${publicUrl}/webhooks/twilio/status` };
      return twilio.switchboardEnv(port, OUR_NUMBER);
    },
    person: (number, person) => void (people[number] = { conversation: person }),
    ring: (from) => void twilio.inboundCall(from, OUR_NUMBER),
    close: () => twilio.close(),
  };
}

const running: { h: Harness; net: ConversationNetwork }[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.h.close();
    await r.net.close();
  }
});

const turns = (call: { transcript: { speaker: string; text: string }[] }) => call.transcript.map((t) => `${t.speaker}: ${t.text}`);

export function conversationSuite(carrier: string, network: () => Promise<ConversationNetwork>): void {
  async function start(env: Record<string, string> = {}) {
    const net = await network();
    const port = await freePort();
    const h = await startHarness({ SWITCHBOARD_DATA_DIR: tempDir(), ...net.env(port), ...env }, { listen: true });
    running.push({ h, net });
    return { h, net };
  }

  async function ended(h: Harness, callId: string) {
    expect(await h.call('wait_for_calls', { call_ids: [callId], timeout_seconds: 15 })).toMatchObject({ done: true });
    return h.call('get_call', { call_id: callId });
  }

  describe(`conversation calls on ${carrier}`, () => {
    it('a three-turn conversation: question, answer, follow-up, goodbye, with the exact transcript', async () => {
      const { h, net } = await start();
      net.person(ROOFER, { facts: { price_per_square: '450 dollars' }, replies: ['Yes, we can start next Monday.'] });
      const { call_id } = await h.call('initiate_call', { to: ROOFER, mode: 'conversation', message: OPENING });
      expect(await h.call('continue_call', { call_id })).toMatchObject({ heard: '450 dollars', turn: 1 });
      expect(await h.call('continue_call', { call_id, message: 'Thanks. Could you start next week?' })).toMatchObject({ heard: 'Yes, we can start next Monday.', turn: 2 });
      expect(await h.call('continue_call', { call_id, message: 'Great, I will confirm by text. Goodbye!', timeout_seconds: 2 })).toMatchObject({ heard: null, reason: 'timeout' });
      await h.call('end_call', { call_id });
      const call = await ended(h, call_id);
      expect(call.status).toBe('completed');
      expect(turns(call)).toEqual([
        `agent: ${AI_DISCLOSURE} ${OPENING}`,
        'callee: 450 dollars',
        'agent: Thanks. Could you start next week?',
        'callee: Yes, we can start next Monday.',
        'agent: Great, I will confirm by text. Goodbye!',
      ]);
    });

    it('continue_call answers hangup when the call ends while it waits, and a second one is refused while one waits', async () => {
      const { h, net } = await start();
      net.person(ROOFER, { replies: [] });
      const { call_id } = await h.call('initiate_call', { to: ROOFER, mode: 'conversation', message: 'Hello, a quick question.' });
      const waiting = h.call('continue_call', { call_id, timeout_seconds: 20 });
      await until(async () => (await h.call('get_call', { call_id })).transcript.length > 0, 'the opening line');
      expect(await h.fail('continue_call', { call_id })).toMatch(/Another continue_call is already waiting/);
      await h.call('end_call', { call_id });
      expect(await waiting).toMatchObject({ heard: null, reason: 'hangup' });
    });

    it('a client that stops talking: the callee hears the hold line, then a goodbye, and the call ends', async () => {
      const { h, net } = await start({ SWITCHBOARD_CONVERSATION_HOLD_SECONDS: '1', SWITCHBOARD_CONVERSATION_GOODBYE_SECONDS: '2' });
      net.person(ROOFER, { replies: [] });
      const { call_id } = await h.call('initiate_call', { to: ROOFER, mode: 'conversation', message: 'Hello, a quick question.' });
      const call = await ended(h, call_id);
      expect(call.status).toBe('completed');
      expect(turns(call)).toEqual([`agent: ${AI_DISCLOSURE} Hello, a quick question.`, `agent: ${HOLD_LINE}`, `agent: ${GOODBYE}`]);
    });

    it('an inbound call is returned by wait_for_calls(until: "inbound") as it rings through, and the client converses', async () => {
      const { h, net } = await start({ SWITCHBOARD_INBOUND_POLICY: 'open' });
      net.person(CALLER, { replies: ['Hi, it is Maria. Is Sam there?', 'Please ask Sam to call me back.'] });
      const waiting = h.call('wait_for_calls', { until: 'inbound', timeout_seconds: 15 });
      net.ring(CALLER);
      const { done, calls } = await waiting;
      expect(done).toBe(true);
      expect(calls[0]).toMatchObject({ direction: 'inbound', from: CALLER });
      const call_id = calls[0].call_id;
      expect(await h.call('continue_call', { call_id, message: 'Hello, this is Sam’s assistant. Who is calling?' })).toMatchObject({ heard: 'Hi, it is Maria. Is Sam there?' });
      expect(await h.call('continue_call', { call_id, message: 'Sam is out. Can I take a message?' })).toMatchObject({ heard: 'Please ask Sam to call me back.' });
      await h.call('end_call', { call_id });
      expect(turns(await ended(h, call_id))).toEqual([
        `agent: ${INBOUND_DISCLOSURE}`,
        `agent: ${INBOUND_HOLD}`,
        'agent: Hello, this is Sam’s assistant. Who is calling?',
        'callee: Hi, it is Maria. Is Sam there?',
        'agent: Sam is out. Can I take a message?',
        'callee: Please ask Sam to call me back.',
      ]);
    });

    it('an inbound call nobody takes is offered to leave a message, which is kept in its transcript', async () => {
      const { h, net } = await start({ SWITCHBOARD_INBOUND_POLICY: 'open', SWITCHBOARD_INBOUND_CLAIM_SECONDS: '1' });
      net.person(CALLER, { replies: ['Please tell Sam the roofer called.'] });
      net.ring(CALLER);
      const call_id = await until(async () => (await h.call('list_calls', {})).calls[0]?.call_id, 'the inbound call');
      const call = await ended(h, call_id);
      expect(call).toMatchObject({ status: 'completed', outcome: 'message_left', summary: 'The caller left a message: Please tell Sam the roofer called.' });
      expect(turns(call)).toEqual([
        `agent: ${INBOUND_DISCLOSURE}`,
        `agent: ${INBOUND_HOLD}`,
        `agent: ${TAKE_MESSAGE}`,
        'callee: Please tell Sam the roofer called.',
        `agent: ${MESSAGE_TAKEN}`,
      ]);
    });
  });
}
