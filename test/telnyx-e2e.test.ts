import { afterEach, describe, expect, it } from 'vitest';
import { TelnyxEmulator, type EmulatedCall, type Signing } from './fakes/telnyx-emulator.js';
import { freePort, startHarness, tempDir, until, type Harness } from './helpers.js';

/**
 * Switchboard with SWITCHBOARD_PROVIDER=telnyx, driven by a real MCP client, against the offline Telnyx emulator:
 * the emulator takes our REST calls and plays each call and message back as Ed25519-signed webhooks to the sidecar.
 */

const OUR_NUMBER = '+12125550100';
const FRIEND = '+12125550199';
const STRANGER = '+12125550188';
const MESSAGE = 'Your table for two at Nino’s is ready.';
const VOICEMAIL = 'Sorry we missed you; your table is ready whenever you are.';
const GREETING = 'Hi, you have reached the Switchboard line of the Nino’s booking desk.';
const MESSAGING_PROFILE = '40017f8e-49bd-4f16-9e3d-ef103f916228';

/** Switchboard as an MCP client sees it, the emulated Telnyx account, and the settings (store included) it runs with. */
type Line = { h: Harness; telnyx: TelnyxEmulator; env: Record<string, string> };
const running: { telnyx: TelnyxEmulator; line?: Line }[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.telnyx.settled();
    await r.line?.h.close();
    await r.telnyx.close();
  }
});

/** An emulated Telnyx account and a Switchboard pointed at it, its sidecar on the port the webhooks go to. */
async function switchboardOnTelnyx(extraEnv: Record<string, string> = {}, network: { speakMs?: number; secondMs?: number } = {}): Promise<Line> {
  const telnyx = await TelnyxEmulator.start({ speakMs: 20, ...network });
  const slot: (typeof running)[number] = { telnyx };
  running.push(slot);
  const env = {
    SWITCHBOARD_DATA_DIR: tempDir(),
    ...telnyx.switchboardEnv(await freePort(), OUR_NUMBER),
    TELNYX_MESSAGING_PROFILE_ID: MESSAGING_PROFILE,
    ...extraEnv,
  };
  slot.line = { h: await startHarness(env, { listen: true }), telnyx, env };
  return slot.line;
}

/** Stops Switchboard and starts it again on the same store and port, while Telnyx carries on (`meanwhile`). */
async function restart(line: Line, meanwhile: () => unknown = () => {}): Promise<void> {
  await line.h.close();
  await meanwhile();
  line.h = await startHarness(line.env, { listen: true });
}

/** Waits through MCP until the call has a final status, then returns what get_call shows. */
async function outcome(h: Harness, callId: string) {
  const waited = await h.call('wait_for_calls', { call_ids: [callId], timeout_seconds: 10 });
  expect(waited).toMatchObject({ done: true, timed_out: false });
  return h.call('get_call', { call_id: callId });
}

async function status(h: Harness, callId: string): Promise<string> {
  return (await h.call('get_call', { call_id: callId })).status;
}

/** Waits through MCP until the message is delivered, failed or canceled. */
async function smsOutcome(h: Harness, messageId: string) {
  return until(async () => {
    const { messages } = await h.call('list_messages', { limit: 500 });
    const m = messages.find((x: any) => x.message_id === messageId);
    return m && ['delivered', 'failed', 'canceled'].includes(m.status) ? m : undefined;
  }, `message ${messageId} to settle`);
}

/** Everything in flight has landed: the emulator's webhooks and the commands Switchboard sent back for them. */
async function quiet({ h, telnyx }: Pick<Line, 'h' | 'telnyx'>): Promise<void> {
  await telnyx.settled();
  await h.app.provider.stop(); // waits for the adapter's pending Call Control commands; the app keeps running
  await telnyx.settled();
}

/** The line the emulator opened when Switchboard dialed `to`, once it is ringing in Switchboard's eyes. */
async function ringing(line: Pick<Line, 'h' | 'telnyx'>, callId: string, to: string): Promise<EmulatedCall> {
  await until(async () => (await status(line.h, callId)) === 'ringing', `call ${callId} to ring`);
  return line.telnyx.callTo(to);
}

const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** What a callee hears from an outbound call: the AI disclosure first, then our words, to the end. */
const disclosedThen = (text: string) => expect.stringMatching(new RegExp(`AI assistant.*${literally(text)}$`));
const agentSaid = (text: string, extra: Record<string, unknown> = {}) => [expect.objectContaining({ speaker: 'agent', text: disclosedThen(text), ...extra })];
const said = (call: { transcript: { text: string }[] }) => call.transcript.map((t) => t.text);

const notify = (to: string, extra: Record<string, unknown> = {}) => ({ to, mode: 'notify', message: MESSAGE, ...extra });
const dials = (telnyx: TelnyxEmulator) => telnyx.requests.filter((r) => r.method === 'POST' && r.path === '/v2/calls');

describe('telnyx e2e: outbound notify calls', () => {
  it('speaks the message and hangs up only after it was heard to the end', async () => {
    const { h, telnyx } = await switchboardOnTelnyx();
    const to = '+12125550101';
    const placed = await h.call('initiate_call', notify(to));
    expect(placed).toMatchObject({ created: true, mode: 'notify', to, from: OUR_NUMBER, attempts: [{ attempt: 1 }] });

    const call = await outcome(h, placed.call_id);
    expect(call).toMatchObject({
      status: 'completed',
      direction: 'outbound',
      answered_by: null,
      error: null,
      attempts: [{ attempt: 1, status: 'completed', hangup_cause: 'normal_clearing', error_code: null }],
    });
    expect(call.answered_at).toEqual(expect.any(String));
    expect(call.transcript).toEqual(agentSaid(MESSAGE, { attempt: 1 }));

    const line = telnyx.callTo(to);
    expect(line.dial).toMatchObject({ to, from: OUR_NUMBER, connection_id: telnyx.connectionId, command_id: `${placed.call_id}-1` });
    expect(line.dial).not.toHaveProperty('answering_machine_detection');
    expect(line.spoken).toEqual(said(call)); // the callee heard exactly what the transcript says
    expect(line.hangupWhileSpeaking).toBe(false);
    expect(line.timeline).toEqual([
      'cmd:dial',
      'hook:call.initiated',
      'hook:call.answered',
      'cmd:speak',
      'hook:call.speak.started',
      'hook:call.speak.ended',
      'cmd:hangup',
      'hook:call.hangup',
    ]);
  });

  it('amd "voicemail" on a machine: waits for the beep, leaves the voicemail message, ends as voicemail', async () => {
    const { h, telnyx } = await switchboardOnTelnyx();
    const to = '+12125550102';
    telnyx.scriptCall(to, 'machine');
    const { call_id } = await h.call('initiate_call', notify(to, { amd: 'voicemail', voicemail_message: VOICEMAIL }));

    const call = await outcome(h, call_id);
    expect(call).toMatchObject({ status: 'voicemail', answered_by: 'machine', error: null, attempts: [{ attempt: 1, status: 'voicemail', answered_by: 'machine' }] });
    expect(call.transcript).toEqual(agentSaid(VOICEMAIL));

    const line = telnyx.callTo(to);
    expect(line.dial).toMatchObject({ answering_machine_detection: 'detect_beep' });
    expect(line.spoken).toEqual(said(call));
    const at = (step: string) => line.timeline.indexOf(step);
    expect(at('cmd:speak')).toBeGreaterThan(at('hook:call.machine.greeting.ended'));
    expect(at('cmd:hangup')).toBeGreaterThan(at('hook:call.speak.ended'));
    expect(line.hangupWhileSpeaking).toBe(false);
  });

  it('amd "detect" with a person answering: answered_by human, the message is spoken, completed', async () => {
    const { h, telnyx } = await switchboardOnTelnyx();
    const to = '+12125550103';
    const { call_id } = await h.call('initiate_call', notify(to, { amd: 'detect' }));

    const call = await outcome(h, call_id);
    expect(call).toMatchObject({ status: 'completed', answered_by: 'human', attempts: [{ status: 'completed', answered_by: 'human' }] });
    expect(call.transcript).toEqual(agentSaid(MESSAGE));
    const line = telnyx.callTo(to);
    expect(line.dial).toMatchObject({ answering_machine_detection: 'detect' });
    expect(line.timeline.indexOf('cmd:speak')).toBeGreaterThan(line.timeline.indexOf('hook:call.machine.detection.ended'));
  });

  it('amd "detect" with a machine answering: hangs up without speaking and ends as voicemail', async () => {
    const { h, telnyx } = await switchboardOnTelnyx();
    const to = '+12125550109';
    telnyx.scriptCall(to, 'machine');
    const { call_id } = await h.call('initiate_call', notify(to, { amd: 'detect' }));

    const call = await outcome(h, call_id);
    expect(call).toMatchObject({ status: 'voicemail', answered_by: 'machine', transcript: [] });
    expect(telnyx.callTo(to).spoken).toEqual([]);
    expect(telnyx.callTo(to).commands.map((c) => c.verb)).toEqual(['hangup']);
  });

  it('end_call hangs up a live call at Telnyx', async () => {
    const line = await switchboardOnTelnyx();
    const { h, telnyx } = line;
    const to = '+12125550113';
    telnyx.scriptCall(to, 'manual');
    const { call_id } = await h.call('initiate_call', notify(to, { amd: 'detect' }));
    const call = await ringing(line, call_id, to);
    await telnyx.emitCallEvent(call, 'call.answered'); // picked up; Switchboard waits for the machine detection
    await until(async () => (await status(h, call_id)) === 'in_progress', 'the call to be answered');

    await h.call('end_call', { call_id });
    expect(await outcome(h, call_id)).toMatchObject({ status: 'completed', attempts: [{ status: 'completed' }], transcript: [] });
    expect(call.commands.map((c) => c.verb)).toEqual(['hangup']);
    expect(call.alive).toBe(false);
  });

  it.each([
    ['busy', 'busy', 'user_busy', '486'],
    ['no_answer', 'no_answer', 'timeout', '480'],
    ['reject', 'failed', 'call_rejected', '603'],
  ] as const)('a callee that is %s ends the call %s, and nothing is said on the line', async (behaviour, final, cause, sip) => {
    const { h, telnyx } = await switchboardOnTelnyx();
    const to = '+12125550104';
    telnyx.scriptCall(to, behaviour);
    const { call_id } = await h.call('initiate_call', notify(to));

    const call = await outcome(h, call_id);
    expect(call).toMatchObject({ status: final, answered_at: null, transcript: [], attempts: [{ attempt: 1, status: final, hangup_cause: cause, error_code: sip }] });
    expect(telnyx.callTo(to).commands).toEqual([]);
  });

  it('retry: busy on the first attempt, answered on the second; one call_id with two attempts', async () => {
    const { h, telnyx } = await switchboardOnTelnyx();
    const to = '+12125550105';
    telnyx.scriptCall(to, 'manual'); // the first attempt rings until we say what happens
    const { call_id } = await h.call('initiate_call', notify(to, { retry: { max_attempts: 2, interval_seconds: 0 } }));

    const first = await ringing({ h, telnyx }, call_id, to);
    telnyx.scriptCall(to, 'answer'); // by the next attempt the callee is free
    await telnyx.emitCallEvent(first, 'call.hangup', { state: 'hangup', hangup_cause: 'user_busy', sip_hangup_cause: '486', hangup_source: 'callee' });

    const call = await outcome(h, call_id);
    expect(call.call_id).toBe(call_id);
    expect(call.status).toBe('completed');
    expect(call.attempts).toMatchObject([
      { attempt: 1, status: 'busy', hangup_cause: 'user_busy' },
      { attempt: 2, status: 'completed' },
    ]);
    expect(call.transcript).toEqual(agentSaid(MESSAGE, { attempt: 2 }));
    expect(dials(telnyx).map((r) => r.body.command_id)).toEqual([`${call_id}-1`, `${call_id}-2`]);
    expect((await h.call('list_calls', {})).calls).toEqual([expect.objectContaining({ call_id, attempts: 2, status: 'completed' })]);
  });

  it('agent mode is refused on Telnyx without live voice (it says how to turn it on), and nothing reaches Telnyx', async () => {
    const { h, telnyx } = await switchboardOnTelnyx();
    const explicit = await h.fail('initiate_call', { to: '+12125550106', mode: 'agent', instructions: 'Ask when the table is free.' });
    expect(explicit).toMatch(/Telnyx runs agent calls with live voice only: set SWITCHBOARD_VOICE=openai and OPENAI_API_KEY/);
    expect(explicit).toMatch(/use mode "notify" or "conversation"/);
    const byDefault = await h.fail('initiate_call', { to: '+12125550106' });
    expect(byDefault).toMatch(/live voice only/);

    expect((await h.call('list_calls', {})).calls).toEqual([]);
    await quiet({ h, telnyx });
    expect(telnyx.requests).toEqual([]);
  });
});

describe('telnyx e2e: the call length limit', () => {
  it('SWITCHBOARD_MAX_CALL_SECONDS goes to Telnyx as time_limit_secs, and a call that reaches it is cut off mid-message', async () => {
    // A message that takes 1 s to speak, against 10 call seconds of 10 ms each.
    const { h, telnyx } = await switchboardOnTelnyx({ SWITCHBOARD_MAX_CALL_SECONDS: '10' }, { speakMs: 1000, secondMs: 10 });
    const to = '+12125550115';
    const { call_id } = await h.call('initiate_call', notify(to));

    const call = await outcome(h, call_id);
    expect(call).toMatchObject({ status: 'completed', attempts: [{ attempt: 1, status: 'completed', hangup_cause: 'time_limit' }] });
    const line = telnyx.callTo(to);
    expect(line.dial).toMatchObject({ time_limit_secs: 10 });
    expect(line.timeline).toContain('hook:call.speak.started');
    expect(line.timeline).not.toContain('hook:call.speak.ended');
    expect(line.commands.map((c) => c.verb)).toEqual(['speak']);
  });
});

describe('telnyx e2e: carrier errors', () => {
  it('a dial that got a 500 is retried with the same command_id; Telnyx places one call and it completes', async () => {
    const { h, telnyx } = await switchboardOnTelnyx();
    const to = '+12125550107';
    telnyx.scriptCall(to, 'fail_once');
    const { call_id } = await h.call('initiate_call', notify(to));

    const call = await outcome(h, call_id);
    expect(call).toMatchObject({ status: 'completed', error: null, attempts: [{ attempt: 1, status: 'completed' }] });
    expect(call.transcript).toEqual(agentSaid(MESSAGE));
    expect(dials(telnyx).map((r) => [r.status, r.body.command_id])).toEqual([
      [500, `${call_id}-1`],
      [200, `${call_id}-1`],
    ]);
    expect(telnyx.calls.size).toBe(1);
  });

  it('a dial Telnyx refuses (4xx) ends the call failed with Telnyx’s code and detail, without retrying', async () => {
    const { h, telnyx } = await switchboardOnTelnyx({ TELNYX_CONNECTION_ID: 'not-a-call-control-app' });
    expect(await h.fail('initiate_call', notify('+12125550108'))).toMatch(/^The carrier refused the call \(code 10015\): .*get_call has the details\.$/);
    const [{ call_id }] = (await h.call('list_calls')).calls;

    const call = await outcome(h, call_id);
    expect(call).toMatchObject({ status: 'failed', error: { code: '10015' }, attempts: [{ attempt: 1, status: 'failed', error_code: '10015' }] });
    expect(call.error.message).toMatch(/Telnyx refused the request \(422\).*connection_id/);
    expect(dials(telnyx).map((r) => r.status)).toEqual([422]);
    expect(telnyx.calls.size).toBe(0);
  });
});

describe('telnyx e2e: webhooks are authenticated and idempotent', () => {
  it.each(['forged', 'stale', 'missing'] as Signing[])('a %s signature gets 401 and changes nothing', async (signing) => {
    const { h, telnyx } = await switchboardOnTelnyx();
    const to = '+12125550110';
    telnyx.scriptCall(to, 'manual');
    const { call_id } = await h.call('initiate_call', notify(to));
    const line = await ringing({ h, telnyx }, call_id, to);
    const before = await h.call('get_call', { call_id });

    expect(await telnyx.emitCallEvent(line, 'call.answered', {}, signing)).toBe(401);
    expect(await telnyx.emitCallEvent(line, 'call.hangup', { hangup_cause: 'normal_clearing', sip_hangup_cause: '200' }, signing)).toBe(401);
    await quiet({ h, telnyx });
    expect(await h.call('get_call', { call_id })).toEqual(before);
    expect(line.commands).toEqual([]);

    // The genuine end of the call still lands, and the forged "completed" never did.
    expect(await telnyx.emitCallEvent(line, 'call.hangup', { hangup_cause: 'user_busy', sip_hangup_cause: '486' })).toBe(200);
    expect(await outcome(h, call_id)).toMatchObject({ status: 'busy', transcript: [] });
  });

  it('a duplicate delivery is answered 200, changes nothing and sends no second command', async () => {
    const line = await switchboardOnTelnyx();
    const { h, telnyx } = line;
    const to = '+12125550111';
    const { call_id } = await h.call('initiate_call', notify(to));
    const before = await outcome(h, call_id);
    await quiet(line);
    const call = telnyx.callTo(to);

    for (const event of ['call.initiated', 'call.answered', 'call.speak.ended', 'call.hangup']) {
      expect(await telnyx.redeliver(telnyx.eventId(call, event))).toBe(200);
    }
    await quiet(line);
    expect(await h.call('get_call', { call_id })).toEqual(before);
    expect(telnyx.requestCount('POST', '/actions/speak')).toBe(1);
    expect(telnyx.requestCount('POST', '/actions/hangup')).toBe(1);
    expect(call.spoken).toEqual(said(before));
  });

  it('out of order: a hangup before the answer leaves the call in its final state, and nothing is spoken', async () => {
    const line = await switchboardOnTelnyx();
    const { h, telnyx } = line;
    const to = '+12125550112';
    telnyx.scriptCall(to, 'manual');
    const { call_id } = await h.call('initiate_call', notify(to));
    const call = await ringing(line, call_id, to);

    expect(await telnyx.emitCallEvent(call, 'call.hangup', { hangup_cause: 'normal_clearing', sip_hangup_cause: '200' })).toBe(200);
    const ended = await outcome(h, call_id);
    expect(await telnyx.emitCallEvent(call, 'call.answered')).toBe(200);
    expect(await telnyx.emitCallEvent(call, 'call.initiated', { state: 'bridging' })).toBe(200);
    await quiet(line);

    expect(ended).toMatchObject({ status: 'completed', attempts: [{ status: 'completed' }] });
    expect(await h.call('get_call', { call_id })).toMatchObject({ status: 'completed', ended_at: ended.ended_at, attempts: [{ status: 'completed' }], transcript: [] });
    expect(telnyx.requestCount('POST', '/actions/speak')).toBe(0);
    expect(call.spoken).toEqual([]);
  });
});

describe('telnyx e2e: inbound calls follow SWITCHBOARD_INBOUND_POLICY', () => {
  const open = { SWITCHBOARD_INBOUND_POLICY: 'open', SWITCHBOARD_INBOUND_GREETING: GREETING };
  const allowFriend = { SWITCHBOARD_INBOUND_POLICY: 'allowlist', SWITCHBOARD_INBOUND_ALLOWLIST: FRIEND, SWITCHBOARD_INBOUND_GREETING: GREETING };

  it.each([
    ['disabled (the default)', {}, FRIEND],
    ['allowlist, caller not listed', allowFriend, STRANGER],
    ['allowlist, caller id withheld', allowFriend, 'anonymous'],
  ] as const)('%s: the call is rejected without ever being answered, and not recorded', async (_, env, from) => {
    const line = await switchboardOnTelnyx(env);
    const { h, telnyx } = line;
    const call = telnyx.inboundCall(from, OUR_NUMBER);
    await until(() => call.timeline.includes('hook:call.hangup'), 'the rejected call to hang up');
    await quiet(line);

    expect(call.commands.map((c) => c.verb)).toEqual(['reject']);
    expect(call.answered).toBe(false);
    expect((await h.call('list_calls', {})).calls).toEqual([]);
  });

  it.each([
    ['allowlist, caller listed', allowFriend, FRIEND, FRIEND],
    ['open, caller id withheld', open, 'anonymous', null],
  ] as const)('%s: answered, recorded as an inbound call and handed to the conversation, which hears the caller', async (_, env, from, recordedFrom) => {
    // With the `client` inbound handler (the default) the conversation, not the carrier, decides what the caller hears.
    const { h, telnyx } = await switchboardOnTelnyx(env);
    const call = telnyx.inboundCall(from, OUR_NUMBER);
    const summary = await until(async () => (await h.call('list_calls', {})).calls[0], 'the inbound call to be recorded');
    await until(() => call.timeline.includes('cmd:transcription_start'), 'speech recognition to start');
    await telnyx.emitCallEvent(call, 'call.hangup', { state: 'hangup', hangup_cause: 'normal_clearing', sip_hangup_cause: 'unspecified', hangup_source: 'caller' });

    const recorded = await outcome(h, summary.call_id);
    expect(recorded).toMatchObject({ direction: 'inbound', from: recordedFrom, to: OUR_NUMBER, status: 'completed', attempts: [{ attempt: 1, status: 'completed' }] });
    expect(call.answered).toBe(true);
    expect(call.commands.slice(0, 2).map((c) => c.verb)).toEqual(['answer', 'transcription_start']);
    expect(call.transcription).toEqual({ engine: 'Telnyx', tracks: 'inbound' });
  });
});

describe('telnyx e2e: SMS', () => {
  it('schedule_sms is sent through the messaging profile and ends delivered', async () => {
    const { h, telnyx } = await switchboardOnTelnyx();
    const to = '+12125550120';
    const sms = await h.call('schedule_sms', { to, body: 'See you at 7.' });
    expect(sms).toMatchObject({ created: true, direction: 'outbound' });
    expect(['queued', 'sent', 'delivered']).toContain(sms.status);

    expect(await smsOutcome(h, sms.message_id)).toMatchObject({ status: 'delivered', to, from: OUR_NUMBER, body: 'See you at 7.', error: null });
    expect(telnyx.messages.map((m) => m.body)).toEqual([
      expect.objectContaining({ to, from: OUR_NUMBER, text: 'See you at 7.', messaging_profile_id: MESSAGING_PROFILE }),
    ]);
  });

  it('a message the carrier cannot deliver ends failed with Telnyx’s error code and detail', async () => {
    const { h, telnyx } = await switchboardOnTelnyx();
    const to = '+12125550121';
    telnyx.scriptSms(to, 'undeliverable');
    const { message_id } = await h.call('schedule_sms', { to, body: 'Hello?' });
    expect(await smsOutcome(h, message_id)).toMatchObject({ status: 'failed', error: { code: '40002', message: 'The message was blocked by the carrier.' } });
  });

  it('a send Telnyx fails (500) ends failed with its code and is not sent twice', async () => {
    const { h, telnyx } = await switchboardOnTelnyx();
    const to = '+12125550122';
    telnyx.scriptSms(to, 'fail');
    expect(await h.fail('schedule_sms', { to, body: 'Hello?' })).toMatch(/^The carrier refused the message \(code 40001\): /);
    const [failed] = (await h.call('list_messages', { with: to })).messages;
    expect(failed).toMatchObject({ status: 'failed', error: { code: '40001' } });
    expect(failed.error.message).toMatch(/could not be queued/);
    expect(telnyx.requestCount('POST', '/v2/messages')).toBe(1);
  });

  it('a status that beats the send’s response is refused with a 5xx, and applied when Telnyx redelivers it', async () => {
    const { h, telnyx } = await switchboardOnTelnyx();
    const to = '+12125550123';
    telnyx.scriptSms(to, 'status_first');
    const { message_id } = await h.call('schedule_sms', { to, body: 'See you at 7.' });

    const message = await smsOutcome(h, message_id);
    expect(message).toMatchObject({ status: 'delivered', error: null });
    expect(message.sent_at).toEqual(expect.any(String));
    const sent = telnyx.deliveries.filter((d) => d.eventType === 'message.sent');
    expect(new Set(sent.map((d) => d.eventId)).size).toBe(1);
    expect(sent[0].status).toBe(500);
    expect(sent.at(-1)!.status).toBe(200);
  });

  it('an inbound text shows up in list_messages as inbound, once even if Telnyx delivers it twice', async () => {
    const { h, telnyx } = await switchboardOnTelnyx();
    expect(await telnyx.inboundSms(FRIEND, OUR_NUMBER, 'Running ten minutes late.')).toBe(200);
    expect(await telnyx.redeliver(telnyx.deliveries.at(-1)!.eventId)).toBe(200);

    const { messages } = await h.call('list_messages', { direction: 'inbound' });
    expect(messages).toEqual([expect.objectContaining({ direction: 'inbound', from: FRIEND, to: OUR_NUMBER, body: 'Running ten minutes late.', status: 'received' })]);
    expect((await h.call('list_messages', { with: FRIEND })).messages).toHaveLength(1);
    expect((await h.call('list_do_not_contact', {})).entries).toEqual([]);
  });

  it('an inbound STOP puts the sender on do-not-contact; later calls and texts to them fail and never reach Telnyx', async () => {
    const line = await switchboardOnTelnyx();
    const { h, telnyx } = line;
    expect(await telnyx.inboundSms(FRIEND, OUR_NUMBER, 'STOP')).toBe(200);
    expect((await h.call('list_do_not_contact', {})).entries).toEqual([expect.objectContaining({ number: FRIEND, source: 'sms_stop' })]);

    expect(await h.fail('initiate_call', notify(FRIEND))).toMatch(/do-not-contact list, so no call was placed/);
    expect(await h.fail('schedule_sms', { to: FRIEND, body: 'One more thing…' })).toMatch(/do-not-contact list, so no message was sent/);

    await quiet(line);
    expect(telnyx.requestCount('POST', '/v2/calls')).toBe(0);
    expect(telnyx.requestCount('POST', '/v2/messages')).toBe(0);
    expect(telnyx.calls.size).toBe(0);
    expect(telnyx.messages).toEqual([]);
  });
});

describe('telnyx e2e: ending a call on purpose', () => {
  it('cancelling a mission hangs up its ringing call, and its retry policy never dials it again', async () => {
    const line = await switchboardOnTelnyx();
    const { h, telnyx } = line;
    const to = '+12125550131';
    telnyx.scriptCall(to, 'manual'); // rings until someone acts
    const mission = await h.call('create_mission', { name: 'Book a table', instructions: 'Tell Nino’s we are coming.', steps: [{ step_id: 'call', description: 'Call Nino’s' }] });
    const retry = { max_attempts: 3, interval_seconds: 0 };
    const { call_id } = await h.call('initiate_call', notify(to, { mission_id: mission.mission_id, step_id: 'call', retry }));
    const atTelnyx = await ringing(line, call_id, to);

    await h.call('complete_mission', { mission_id: mission.mission_id, status: 'cancelled', summary: 'Plans changed.' });

    const call = await outcome(h, call_id);
    expect(call).toMatchObject({ status: 'canceled', error: { code: 'mission_ended' }, attempts: [{ attempt: 1, status: 'canceled', hangup_cause: 'originator_cancel' }] });
    await quiet(line);
    expect(atTelnyx.commands.map((c) => c.verb)).toEqual(['hangup']);
    expect(dials(telnyx)).toHaveLength(1);
  });

  it('end_call on a ringing call with a retry policy cancels it for good', async () => {
    const line = await switchboardOnTelnyx();
    const { h, telnyx } = line;
    const to = '+12125550132';
    telnyx.scriptCall(to, 'manual');
    const { call_id } = await h.call('initiate_call', notify(to, { retry: { max_attempts: 3, interval_seconds: 0 } }));
    await ringing(line, call_id, to);

    await h.call('end_call', { call_id });

    expect(await outcome(h, call_id)).toMatchObject({ status: 'canceled', error: { code: 'ended_by_client' }, attempts: [{ status: 'canceled' }] });
    await quiet(line);
    expect(dials(telnyx)).toHaveLength(1);
  });

  it('adding a number to do-not-contact hangs up the call in progress to it', async () => {
    const line = await switchboardOnTelnyx();
    const { h, telnyx } = line;
    const to = '+12125550133';
    telnyx.scriptCall(to, 'manual');
    const { call_id } = await h.call('initiate_call', notify(to, { amd: 'detect', retry: { max_attempts: 3, interval_seconds: 0 } }));
    const atTelnyx = await ringing(line, call_id, to);
    await telnyx.emitCallEvent(atTelnyx, 'call.answered'); // talking; Switchboard waits for the machine detection
    await until(async () => (await status(h, call_id)) === 'in_progress', 'the call to be answered');

    await h.call('add_do_not_contact', { number: to, reason: 'Asked us never to call again' });

    expect(await outcome(h, call_id)).toMatchObject({ status: 'completed', error: { code: 'do_not_contact' }, attempts: [{ status: 'completed' }] });
    await quiet(line);
    expect(atTelnyx.commands.map((c) => c.verb)).toEqual(['hangup']);
    expect(atTelnyx.alive).toBe(false);
    expect(dials(telnyx)).toHaveLength(1);
  });

  it('an inbound STOP from someone we are calling hangs up that call', async () => {
    const line = await switchboardOnTelnyx();
    const { h, telnyx } = line;
    telnyx.scriptCall(FRIEND, 'manual');
    const { call_id } = await h.call('initiate_call', notify(FRIEND, { retry: { max_attempts: 2, interval_seconds: 0 } }));
    const atTelnyx = await ringing(line, call_id, FRIEND);

    expect(await telnyx.inboundSms(FRIEND, OUR_NUMBER, 'STOP')).toBe(200);

    expect(await outcome(h, call_id)).toMatchObject({ status: 'canceled', error: { code: 'do_not_contact' } });
    await quiet(line);
    expect(atTelnyx.commands.map((c) => c.verb)).toEqual(['hangup']);
    expect(dials(telnyx)).toHaveLength(1);
  });
});

describe('telnyx e2e: texts from senders that are not phone numbers', () => {
  it.each([['a short code', '72975'], ['an alphanumeric sender', 'NINOS']])('a STOP from %s is kept as an inbound message and blocks nobody', async (_what, sender) => {
    const { h, telnyx } = await switchboardOnTelnyx();
    expect(await telnyx.inboundSms(sender, OUR_NUMBER, 'STOP')).toBe(200);

    const { messages } = await h.call('list_messages', { direction: 'inbound' });
    expect(messages).toEqual([expect.objectContaining({ from: sender, to: OUR_NUMBER, body: 'STOP', status: 'received' })]);
    expect((await h.call('list_do_not_contact', {})).entries).toEqual([]);
  });
});

describe('telnyx e2e: a Switchboard restart reconciles live calls with Telnyx before anything is dialed', () => {
  it('a call still live at Telnyx when Switchboard restarts stays live, and its hangup lands after the restart', async () => {
    const line = await switchboardOnTelnyx();
    const to = '+12125550114';
    line.telnyx.scriptCall(to, 'manual');
    const { call_id } = await line.h.call('initiate_call', notify(to));
    const call = await ringing(line, call_id, to);

    await restart(line);
    expect(await line.h.call('get_call', { call_id })).toMatchObject({ status: 'ringing', error: null });
    expect(line.telnyx.requestCount('GET', `/v2/calls/${call.id}`)).toBe(1);
    expect(await line.telnyx.emitCallEvent(call, 'call.hangup', { hangup_cause: 'user_busy', sip_hangup_cause: '486' })).toBe(200);
    expect(await outcome(line.h, call_id)).toMatchObject({ status: 'busy', attempts: [{ attempt: 1, status: 'busy' }] });
  });

  it('a call that talked and hung up while Switchboard was down ends completed after the restart', async () => {
    const line = await switchboardOnTelnyx();
    const to = '+12125550116';
    line.telnyx.scriptCall(to, 'manual');
    const { call_id } = await line.h.call('initiate_call', notify(to, { amd: 'detect' }));
    const call = await ringing(line, call_id, to);
    await line.telnyx.emitCallEvent(call, 'call.answered'); // Switchboard waits for the machine detection
    await until(async () => (await status(line.h, call_id)) === 'in_progress', 'the call to be answered');

    await restart(line, () => line.telnyx.endUnheard(call));

    expect(await line.h.call('get_call', { call_id })).toMatchObject({
      status: 'completed',
      error: null,
      ended_at: new Date(call.endedAt!).toISOString(),
      attempts: [{ status: 'completed', error_code: null }],
    });
  });

  it('a call that ended unanswered while Switchboard was down ends failed, and its retry policy dials again', async () => {
    const line = await switchboardOnTelnyx();
    const to = '+12125550117';
    line.telnyx.scriptCall(to, 'manual');
    const { call_id } = await line.h.call('initiate_call', notify(to, { retry: { max_attempts: 2, interval_seconds: 0 } }));
    const call = await ringing(line, call_id, to);

    await restart(line, () => {
      line.telnyx.endUnheard(call);
      line.telnyx.scriptCall(to, 'answer'); // free by the next attempt
    });

    const ended = await outcome(line.h, call_id);
    expect(ended).toMatchObject({ status: 'completed', attempts: [{ attempt: 1, status: 'failed' }, { attempt: 2, status: 'completed' }] });
    expect(ended.attempts[0].error_message).toMatch(/ended unanswered/);
    expect(dials(line.telnyx)).toHaveLength(2);
  });

  it('a call Telnyx no longer knows ends failed (interrupted) and is not dialed again', async () => {
    const line = await switchboardOnTelnyx();
    const to = '+12125550118';
    line.telnyx.scriptCall(to, 'manual');
    const { call_id } = await line.h.call('initiate_call', notify(to, { retry: { max_attempts: 3, interval_seconds: 0 } }));
    const call = await ringing(line, call_id, to);

    await restart(line, () => line.telnyx.forget(call));

    expect(await line.h.call('get_call', { call_id })).toMatchObject({ status: 'failed', error: { code: 'interrupted' }, attempts: [{ status: 'failed' }] });
    await quiet(line);
    expect(dials(line.telnyx)).toHaveLength(1);
  });
});

describe('telnyx e2e: no call outlives its deadline', () => {
  // Deadline: ring timeout 5 s + SWITCHBOARD_MAX_CALL_SECONDS 1 s + no grace = 6 s after the dial.
  const SHORT = { SWITCHBOARD_RING_TIMEOUT_SECONDS: '5', SWITCHBOARD_MAX_CALL_SECONDS: '1', SWITCHBOARD_CALL_DEADLINE_GRACE_SECONDS: '0' };

  it('calls Telnyx never ends are hung up and ended by Switchboard: answered completed, unanswered failed, neither retried', async () => {
    const line = await switchboardOnTelnyx(SHORT);
    const { h, telnyx } = line;
    const [talking, ringingOut] = ['+12125550151', '+12125550152'];
    telnyx.scriptCall(talking, 'manual');
    telnyx.scriptCall(ringingOut, 'manual');
    const retry = { max_attempts: 3, interval_seconds: 0 };
    const a = (await h.call('initiate_call', notify(talking, { amd: 'detect', retry }))).call_id;
    const b = (await h.call('initiate_call', notify(ringingOut, { retry }))).call_id;
    const answered = await ringing(line, a, talking);
    const unanswered = await ringing(line, b, ringingOut);
    await telnyx.emitCallEvent(answered, 'call.answered'); // and then nothing: no detection result, no hangup
    await until(async () => (await status(h, a)) === 'in_progress', 'the call to be answered');

    const waited = await h.call('wait_for_calls', { call_ids: [a, b], timeout_seconds: 15 });
    expect(waited).toMatchObject({ done: true });
    const deadline = { code: 'max_duration_exceeded', message: expect.stringMatching(/no end reported by the carrier/) };
    const talked = await h.call('get_call', { call_id: a });
    const rang = await h.call('get_call', { call_id: b });
    expect(talked).toMatchObject({ status: 'completed', error: deadline, attempts: [{ status: 'completed', hangup_cause: 'max_duration_exceeded' }] });
    expect(rang).toMatchObject({ status: 'failed', error: deadline, attempts: [{ status: 'failed', hangup_cause: 'max_duration_exceeded' }] });
    expect(Date.parse(talked.ended_at) - Date.parse(talked.attempts[0].started_at)).toBeGreaterThanOrEqual(6000);

    // Telnyx is told to hang up; its call.hangup arrives after Switchboard's own end and changes nothing.
    await until(() => !answered.alive && !unanswered.alive, 'Telnyx to be told to hang up both calls');
    await quiet(line);
    expect(answered.commands.map((c) => c.verb)).toEqual(['hangup']);
    expect(unanswered.commands.map((c) => c.verb)).toEqual(['hangup']);
    expect(answered.timeline.at(-1)).toBe('hook:call.hangup');
    expect(await h.call('get_call', { call_id: a })).toEqual(talked);
    expect(await h.call('get_call', { call_id: b })).toEqual(rang);
    expect(dials(telnyx)).toHaveLength(2);
  });
});

describe('telnyx e2e: end_call on a call whose end Telnyx does not report', () => {
  it('a hangup Telnyx accepts but never reports: end_call ends the call itself within seconds, with the reason', async () => {
    const line = await switchboardOnTelnyx();
    const { h, telnyx } = line;
    const to = '+12125550161';
    telnyx.scriptCall(to, 'manual');
    const { call_id } = await h.call('initiate_call', notify(to, { amd: 'detect' }));
    const call = await ringing(line, call_id, to);
    await telnyx.emitCallEvent(call, 'call.answered');
    await until(async () => (await status(h, call_id)) === 'in_progress', 'the call to be answered');
    telnyx.loseWebhooks(call);

    const ended = await h.call('end_call', { call_id });

    expect(ended).toMatchObject({ status: 'completed', error: { code: 'ended_by_client' }, attempts: [{ status: 'completed', hangup_cause: 'hangup_unconfirmed' }] });
    expect(call.commands.map((c) => c.verb)).toEqual(['hangup']);
    expect(call.timeline.at(-1)).toBe('lost:call.hangup');
  });

  it('a call Telnyx no longer knows: end_call ends it at once, with the reason', async () => {
    const line = await switchboardOnTelnyx();
    const { h, telnyx } = line;
    const to = '+12125550162';
    telnyx.scriptCall(to, 'manual');
    const { call_id } = await h.call('initiate_call', notify(to, { retry: { max_attempts: 3, interval_seconds: 0 } }));
    const call = await ringing(line, call_id, to);
    telnyx.forget(call);

    const ended = await h.call('end_call', { call_id });

    expect(ended).toMatchObject({ status: 'canceled', error: { code: 'ended_by_client' }, attempts: [{ status: 'canceled', hangup_cause: 'unknown_to_carrier' }] });
    expect(telnyx.requests.map((r) => `${r.method} ${r.status}`).slice(1)).toEqual(['POST 404', 'GET 404']);
    await quiet(line);
    expect(dials(telnyx)).toHaveLength(1);
  });

  it('a call that already ended at Telnyx unheard: end_call learns how from Telnyx, at once', async () => {
    const line = await switchboardOnTelnyx();
    const { h, telnyx } = line;
    const to = '+12125550163';
    telnyx.scriptCall(to, 'manual');
    const { call_id } = await h.call('initiate_call', notify(to, { amd: 'detect' }));
    const call = await ringing(line, call_id, to);
    await telnyx.emitCallEvent(call, 'call.answered');
    await until(async () => (await status(h, call_id)) === 'in_progress', 'the call to be answered');
    telnyx.endUnheard(call);

    const ended = await h.call('end_call', { call_id });

    expect(ended).toMatchObject({ status: 'completed', ended_at: new Date(call.endedAt!).toISOString(), attempts: [{ status: 'completed', hangup_cause: null }] });
    expect(telnyx.requests.map((r) => `${r.method} ${r.status}`).slice(1)).toEqual(['POST 422', 'GET 200']);
  });
});
