import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResourceListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { GOODBYE, HOLD_LINE, INBOUND_HOLD, MESSAGE_TAKEN, TAKE_MESSAGE } from '../src/conversation/conversations.js';
import { AI_DISCLOSURE, INBOUND_DISCLOSURE } from '../src/voice/disclosure.js';
import { simCarrier, startHarness, tempDir, until, type Harness } from './helpers.js';

/**
 * Conversation mode on the simulated carrier, through a real MCP client: the client's own agent talks turn by turn
 * with continue_call / speak_to_user, and takes inbound calls. The simulated people answer from their facts and
 * their `replies`.
 */

const ROOFER = '+15550107001';
const NEIGHBOUR = '+15550107002';
const OWNER = '+15550107003';
const OPENING = 'Hi, I am calling about a roof repair. What is your price per square?';

let h: Harness;
afterEach(async () => h?.close());

async function start(env: Record<string, string> = {}): Promise<Harness> {
  const dir = tempDir();
  const directory = join(dir, 'people.json');
  writeFileSync(
    directory,
    JSON.stringify({
      [ROOFER]: { name: 'Ace Roofing', ring_seconds: 1, facts: { price_per_square: '$450 a square' }, replies: ['Yes, we can start next Monday.'] },
      [NEIGHBOUR]: { name: 'Maria', replies: ['Hi, it is Maria. Is Sam there?', 'Please ask Sam to call me back about the dog.'] },
      [OWNER]: { name: 'Sam', replies: ['It is me. Any messages?'] },
    }),
  );
  h = await startHarness({ SWITCHBOARD_SIM_DIRECTORY: directory, ...env });
  return h;
}

const turns = (call: { transcript: { speaker: string; text: string }[] }) => call.transcript.map((t) => `${t.speaker}: ${t.text}`);

describe('conversation mode', () => {
  it('the client holds a three-turn conversation, and the transcript has every utterance in order', async () => {
    await start();
    const { call_id } = await h.call('initiate_call', { to: ROOFER, mode: 'conversation', message: OPENING });
    // Without message: the reply to the opening line.
    expect(await h.call('continue_call', { call_id })).toMatchObject({ heard: '$450 a square', reason: null, status: 'in_progress', turn: 1 });
    expect(await h.call('continue_call', { call_id, message: 'Thanks. Could you start next week?' })).toMatchObject({ heard: 'Yes, we can start next Monday.', turn: 2 });
    // A statement gets no answer: the wait ends on its timeout.
    expect(await h.call('continue_call', { call_id, message: 'Great, I will confirm by text. Goodbye!', timeout_seconds: 1 })).toMatchObject({ heard: null, reason: 'timeout', turn: 2 });
    await h.call('end_call', { call_id });
    const call = await h.call('get_call', { call_id });
    expect(call.status).toBe('completed');
    expect(turns(call)).toEqual([
      `agent: ${AI_DISCLOSURE} ${OPENING}`,
      'callee: $450 a square',
      'agent: Thanks. Could you start next week?',
      'callee: Yes, we can start next Monday.',
      'agent: Great, I will confirm by text. Goodbye!',
    ]);
  });

  it('speak_to_user queues speech in order and returns at once; continue_call then hears the answer', async () => {
    await start();
    const { call_id } = await h.call('initiate_call', { to: ROOFER, mode: 'conversation', message: 'Hello, this is about your roofing quote.' });
    expect(await h.call('speak_to_user', { call_id, message: 'One second while I find my notes.' })).toEqual({ call_id, queued: true });
    await h.call('speak_to_user', { call_id, message: 'What is your price per square?' });
    expect((await h.call('continue_call', { call_id })).heard).toBe('$450 a square');
    await h.call('end_call', { call_id });
    expect(turns(await h.call('get_call', { call_id })).filter((t) => t.startsWith('agent'))).toEqual([
      `agent: ${AI_DISCLOSURE} Hello, this is about your roofing quote.`,
      'agent: One second while I find my notes.',
      'agent: What is your price per square?',
    ]);
  });

  it('a continue_call waiting when the call ends answers hangup; a second one on the same call is refused while the first waits', async () => {
    await start();
    const { call_id } = await h.call('initiate_call', { to: ROOFER, mode: 'conversation', message: 'Hello, this is about your roofing quote.' });
    const waiting = h.call('continue_call', { call_id, timeout_seconds: 20 });
    await until(async () => (await h.call('get_call', { call_id })).transcript.length > 0, 'the opening line');
    expect(await h.fail('continue_call', { call_id })).toMatch(/Another continue_call is already waiting on call/);
    await h.call('end_call', { call_id });
    expect(await waiting).toMatchObject({ heard: null, reason: 'hangup', status: 'completed' });
    expect(await h.fail('continue_call', { call_id })).toMatch(/is not a live conversation call/);
  });

  it('refuses continue_call and speak_to_user on a call that is not a conversation call', async () => {
    await start({ SWITCHBOARD_SIM_TIME_SCALE: '0.05' });
    const { call_id } = await h.call('initiate_call', { to: ROOFER, mode: 'agent' });
    expect(await h.fail('continue_call', { call_id })).toMatch(/not a live conversation call/);
    expect(await h.fail('speak_to_user', { call_id, message: 'hi' })).toMatch(/not a live conversation call/);
  });

  it('a client that stops talking never leaves the callee on a dead line: a hold line, then a goodbye and a hangup', async () => {
    await start({ SWITCHBOARD_CONVERSATION_HOLD_SECONDS: '1', SWITCHBOARD_CONVERSATION_GOODBYE_SECONDS: '2' });
    const { call_id } = await h.call('initiate_call', { to: ROOFER, mode: 'conversation', message: 'Hello, this is about your roofing quote.' });
    const waited = await h.call('wait_for_calls', { call_ids: [call_id], timeout_seconds: 10 });
    expect(waited).toMatchObject({ done: true });
    const call = await h.call('get_call', { call_id });
    expect(call.status).toBe('completed');
    expect(turns(call)).toEqual([`agent: ${AI_DISCLOSURE} Hello, this is about your roofing quote.`, `agent: ${HOLD_LINE}`, `agent: ${GOODBYE}`]);
  });
});

describe('inbound calls taken by the client', () => {
  it('wait_for_calls(until: "inbound") returns the call as it rings through; the client takes it with continue_call', async () => {
    await start({ SWITCHBOARD_INBOUND_POLICY: 'open' });
    let listChanged = 0;
    h.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void listChanged++);
    // Over Streamable HTTP, notifications outside a request travel on the client's standing GET stream, which the SDK
    // client opens in the background after initialize: give it a moment, as any real client has long had.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const waiting = h.call('wait_for_calls', { until: 'inbound', timeout_seconds: 10 });
    simCarrier(h.app).receiveCall(NEIGHBOUR);
    const { done, calls } = await waiting;
    expect(done).toBe(true);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ direction: 'inbound', from: NEIGHBOUR, mode: 'conversation' });
    const call_id = calls[0].call_id;
    expect((await h.call('list_calls', {})).calls.map((c: { call_id: string }) => c.call_id)).toContain(call_id);
    // A client listing resources learns of the new call without polling.
    await until(() => listChanged > 0, 'a resource list change');

    expect(await h.call('continue_call', { call_id, message: 'Hello, this is Sam’s assistant. Who is calling?' })).toMatchObject({ heard: 'Hi, it is Maria. Is Sam there?' });
    await h.call('continue_call', { call_id, message: 'Sam is out. Can I take a message?' });
    await h.call('end_call', { call_id });
    expect(turns(await h.call('get_call', { call_id }))).toEqual([
      `agent: ${INBOUND_DISCLOSURE}`,
      `agent: ${INBOUND_HOLD}`,
      'agent: Hello, this is Sam’s assistant. Who is calling?',
      'callee: Hi, it is Maria. Is Sam there?',
      'agent: Sam is out. Can I take a message?',
      'callee: Please ask Sam to call me back about the dog.',
    ]);
  });

  it('an inbound call nobody takes is offered to leave a message, which lands in its transcript', async () => {
    await start({ SWITCHBOARD_INBOUND_POLICY: 'open', SWITCHBOARD_INBOUND_CLAIM_SECONDS: '1' });
    simCarrier(h.app).receiveCall(NEIGHBOUR);
    const call_id = await until(async () => (await h.call('list_calls', {})).calls[0]?.call_id, 'the inbound call');
    const waited = await h.call('wait_for_calls', { call_ids: [call_id], timeout_seconds: 10 });
    expect(waited.done).toBe(true);
    const call = await h.call('get_call', { call_id });
    expect(call).toMatchObject({ status: 'completed', outcome: 'message_left' });
    expect(call.summary).toBe('The caller left a message: Hi, it is Maria. Is Sam there?');
    expect(turns(call)).toEqual([
      `agent: ${INBOUND_DISCLOSURE}`,
      `agent: ${INBOUND_HOLD}`,
      `agent: ${TAKE_MESSAGE}`,
      'callee: Hi, it is Maria. Is Sam there?',
      `agent: ${MESSAGE_TAKEN}`,
    ]);
  });

  it('the owner gets through an allowlist without being listed twice, and the transcript says it was them', async () => {
    await start({ SWITCHBOARD_INBOUND_POLICY: 'allowlist', SWITCHBOARD_INBOUND_ALLOWLIST: NEIGHBOUR, SWITCHBOARD_OWNER_NUMBERS: OWNER });
    const waiting = h.call('wait_for_calls', { until: 'inbound', timeout_seconds: 10 });
    simCarrier(h.app).receiveCall(OWNER);
    const { calls } = await waiting;
    const call_id = calls[0].call_id;
    expect(await h.call('continue_call', { call_id, message: 'Hi Sam, what can I do?' })).toMatchObject({ heard: 'It is me. Any messages?' });
    await h.call('end_call', { call_id });
    expect(turns(await h.call('get_call', { call_id }))[0]).toBe(`callee: (the owner, ${OWNER}, is calling)`);
  });
});
