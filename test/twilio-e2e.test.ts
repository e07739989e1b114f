import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { TwilioEmulator, type Callee, type EmulatedCall } from './fakes/twilio-emulator.js';
import { AI_DISCLOSURE } from '../src/voice/disclosure.js';
import { freePort, startHarness, tempDir, until, type Harness } from './helpers.js';

/**
 * Switchboard as an MCP client sees it with SWITCHBOARD_PROVIDER=twilio: the real app, sidecar and
 * Twilio SDK, talking to the offline Twilio emulator, which dials, fetches TwiML and posts signed
 * webhooks back exactly as Twilio would.
 */

const ACCOUNT_SID = `AC${'cd'.repeat(16)}`;
const AUTH_TOKEN = 'fedcba9876543210fedcba9876543210';
const OUR_NUMBER = '+12125550100';
const ALICE = '+12125550111';
const BOB = '+12125550122';
/** What Twilio puts in `From` when the caller withholds their number ("ANONYMOUS" on a keypad). */
const ANONYMOUS = '+266696687';
const GREETING = 'Hi, you have reached the Ace Roofing assistant. We will call you back shortly.';

const XML = '<?xml version="1.0" encoding="UTF-8"?>';
const TABLE_READY = 'Your table for two is ready.';
/** What a callee hears: every call Switchboard places first says an AI is speaking. */
const heard = (text: string) => `${AI_DISCLOSURE} ${text}`;
const VOICEMAIL = 'Sorry we missed you: your table for two is ready until 8 pm.';

/** initiate_call arguments for a notify call: speak TABLE_READY to `to`, then hang up. */
const notify = (to: string, extra: Record<string, unknown> = {}) => ({ to, mode: 'notify', message: TABLE_READY, ...extra });

type Phone = {
  /** The MCP client's view: h.call / h.fail run real tool calls. */
  h: Harness;
  /** The phone network. */
  twilio: TwilioEmulator;
  publicUrl: string;
  /** Switchboard's settings, store included, so it can be restarted as it was. */
  env: Record<string, string>;
};

const running: { twilio: TwilioEmulator; phone?: Phone }[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.twilio.close(); // lets every call in flight finish its callbacks first
    await r.phone?.h.close();
  }
});

/** Switchboard on Twilio, pointed at a fresh emulator; `callees` scripts how each dialled number behaves. */
async function switchboardOnTwilio(callees: Record<string, Callee> = {}, extraEnv: Record<string, string> = {}): Promise<Phone> {
  const twilio = await new TwilioEmulator(ACCOUNT_SID, AUTH_TOKEN, callees).start();
  const entry: (typeof running)[number] = { twilio };
  running.push(entry);
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const env = { SWITCHBOARD_DATA_DIR: tempDir(), ...twilio.switchboardEnv(port, OUR_NUMBER), ...extraEnv };
  entry.phone = { h: await startHarness(env, { listen: true }), twilio, publicUrl, env };
  // What the owner pastes into the Twilio console for the number.
  twilio.numberWebhooks = {
    voiceUrl: `${publicUrl}/webhooks/twilio/voice`,
    smsUrl: `${publicUrl}/webhooks/twilio/sms`,
    statusCallback: `${publicUrl}/webhooks/twilio/status`,
  };
  return entry.phone;
}

/** Stops Switchboard and starts it again on the same store and port, while Twilio carries on (`meanwhile`). */
async function restart(p: Phone, meanwhile: () => Promise<void> = async () => {}): Promise<void> {
  await p.h.close();
  await meanwhile();
  p.h = await startHarness(p.env, { listen: true });
}

/** initiate_call, then wait_for_calls until it is over, then get_call — what an agent does. */
/** The one call placed so far, as get_call shows it. */
async function lastCall(p: Phone) {
  const [{ call_id }] = (await p.h.call('list_calls')).calls;
  return p.h.call('get_call', { call_id });
}

async function callAndWait(p: Phone, args: Record<string, unknown>) {
  const placed = await p.h.call('initiate_call', args);
  const waited = await p.h.call('wait_for_calls', { call_ids: [placed.call_id], timeout_seconds: 10 });
  expect(waited).toMatchObject({ done: true, timed_out: false });
  await twilioIsDone(p);
  return p.h.call('get_call', { call_id: placed.call_id });
}

/** Every call the emulator is playing has posted all its callbacks. */
async function twilioIsDone(p: Phone): Promise<void> {
  await Promise.all([...p.twilio.calls.keys(), ...p.twilio.messages.keys()].map((sid) => p.twilio.finished(sid)));
}

/** The calls Twilio was asked to place to a number, oldest first. */
const dialled = (p: Phone, to: string): EmulatedCall[] => [...p.twilio.calls.values()].filter((c) => c.to === to);

/** Polls list_messages (there is no wait tool for SMS) until the message reaches a final status. */
async function messageSettles(p: Phone, messageId: string) {
  return until(async () => {
    const { messages } = await p.h.call('list_messages', {});
    const m = messages.find((x: { message_id: string }) => x.message_id === messageId);
    return m && ['delivered', 'failed', 'canceled'].includes(m.status) ? m : undefined;
  }, `message ${messageId} to settle`);
}

const creates = (p: Phone) => p.twilio.restLog.filter((r) => r.op.endsWith('.create'));

describe('outbound calls on Twilio, through MCP', () => {
  it('a notify call speaks the message, hangs up, and ends completed', async () => {
    const p = await switchboardOnTwilio();
    const call = await callAndWait(p, notify(ALICE));

    expect(call).toMatchObject({
      direction: 'outbound',
      to: ALICE,
      from: OUR_NUMBER,
      status: 'completed',
      error: null,
      attempts: [{ attempt: 1, status: 'completed' }],
    });
    expect(call.transcript).toMatchObject([{ attempt: 1, speaker: 'agent', text: heard(TABLE_READY) }]);
    expect(call.answered_at).not.toBeNull();

    const [atTwilio] = dialled(p, ALICE);
    expect(atTwilio.twiml).toEqual([`${XML}<Response><Say>${heard(TABLE_READY)}</Say><Hangup/></Response>`]);
    expect(atTwilio.said).toEqual([heard(TABLE_READY)]);
    expect(atTwilio.hungUp).toBe(true);
    expect(p.twilio.restLog).toEqual([{ op: 'calls.create', status: 201 }]);
    expect(await p.h.call('get_insights', { call_id: call.call_id })).toMatchObject({ scope: 'call', status: 'ready', outcome: 'notified' });
  });

  it('amd "voicemail": a machine picks up, the voicemail message is left after the beep', async () => {
    const p = await switchboardOnTwilio({ [ALICE]: { answeredBy: 'machine_end_beep' } });
    const call = await callAndWait(p, notify(ALICE, { amd: 'voicemail', voicemail_message: VOICEMAIL }));

    expect(call).toMatchObject({ status: 'voicemail', answered_by: 'machine', attempts: [{ status: 'voicemail', answered_by: 'machine' }] });
    expect(call.transcript).toMatchObject([{ speaker: 'agent', text: heard(VOICEMAIL) }]);
    const [atTwilio] = dialled(p, ALICE);
    expect(atTwilio.request.get('MachineDetection')).toBe('DetectMessageEnd');
    expect(atTwilio.said).toEqual([heard(VOICEMAIL)]);
    expect(atTwilio.hungUp).toBe(true);
    expect(await p.h.call('get_insights', { call_id: call.call_id })).toMatchObject({ status: 'ready', outcome: 'voicemail_left' });
  });

  it('amd "detect": a human picks up, is reported as human and hears the message', async () => {
    const p = await switchboardOnTwilio({ [ALICE]: { answeredBy: 'human' } });
    const call = await callAndWait(p, notify(ALICE, { amd: 'detect' }));

    expect(call).toMatchObject({ status: 'completed', answered_by: 'human', attempts: [{ status: 'completed', answered_by: 'human' }] });
    expect(call.transcript.map((t: { text: string }) => t.text)).toEqual([heard(TABLE_READY)]);
    expect(dialled(p, ALICE)[0].request.get('MachineDetection')).toBe('Enable');
  });

  it.each<[string, Callee, Record<string, unknown>]>([
    ['busy', { outcome: 'busy' }, { status: 'busy', attempts: [{ status: 'busy', hangup_cause: 'sip_486' }] }],
    ['no-answer', { outcome: 'no-answer' }, { status: 'no_answer', attempts: [{ status: 'no_answer', hangup_cause: 'sip_487' }] }],
    [
      'failed',
      { outcome: 'failed', sipResponseCode: 404, errorCode: '13224' },
      { status: 'failed', error: { code: '13224' }, attempts: [{ status: 'failed', hangup_cause: 'sip_404', error_code: '13224' }] },
    ],
  ])('a call Twilio reports %s ends with that status and nothing is said', async (_, callee, expected) => {
    const p = await switchboardOnTwilio({ [ALICE]: callee });
    const call = await callAndWait(p, notify(ALICE));

    expect(call).toMatchObject({ ...expected, answered_at: null, transcript: [] });
    expect(dialled(p, ALICE)[0].twiml).toEqual([]);
    expect(await p.h.call('get_insights', { call_id: call.call_id })).toMatchObject({ status: 'unavailable', outcome: call.status });
  });

  it('retry: busy on the first try, answered on the second — one call_id, two attempts, completed', async () => {
    // The emulator reads a number's script once per dial: this one is busy the first time only.
    let dials = 0;
    const callees: Record<string, Callee> = {
      get [ALICE](): Callee {
        return ++dials === 1 ? { outcome: 'busy' } : { outcome: 'answer' };
      },
    };
    const p = await switchboardOnTwilio(callees);
    const call = await callAndWait(p, notify(ALICE, { retry: { max_attempts: 2, interval_seconds: 0 } }));

    expect(call).toMatchObject({
      status: 'completed',
      attempts: [
        { attempt: 1, status: 'busy', hangup_cause: 'sip_486' },
        { attempt: 2, status: 'completed' },
      ],
    });
    expect(call.transcript).toMatchObject([{ attempt: 2, speaker: 'agent', text: heard(TABLE_READY) }]);
    expect(dialled(p, ALICE).map((c) => c.said)).toEqual([[], [heard(TABLE_READY)]]);
    expect(p.twilio.restLog).toEqual([
      { op: 'calls.create', status: 201 },
      { op: 'calls.create', status: 201 },
    ]);
    const { calls } = await p.h.call('list_calls', {});
    expect(calls).toMatchObject([{ call_id: call.call_id, status: 'completed', attempts: 2 }]);
  });

  it('mode "agent" is refused on Twilio without live voice (it says how to turn it on), nothing is dialled', async () => {
    const p = await switchboardOnTwilio();
    const error = await p.h.fail('initiate_call', { to: ALICE, mode: 'agent', message: 'Hello!' });

    expect(error).toMatch(/Twilio runs agent calls with live voice only: set SWITCHBOARD_VOICE=openai and OPENAI_API_KEY/);
    expect(error).toMatch(/use mode "notify" or "conversation"/);
    expect((await p.h.call('list_calls', {})).calls).toEqual([]);
    expect(p.twilio.restLog).toEqual([]);
  });

  it('the default mode (agent) is refused the same way', async () => {
    const p = await switchboardOnTwilio();
    expect(await p.h.fail('initiate_call', { to: ALICE })).toMatch(/agent calls with live voice only/);
    expect(p.twilio.restLog).toEqual([]);
  });

  it('Twilio refusing the create (400, 21211 invalid number) ends the call failed with that code, without a second create', async () => {
    const p = await switchboardOnTwilio();
    p.twilio.failNext('calls.create', { status: 400, code: 21211, message: "The 'To' number +12125550111 is not a valid phone number." });
    // Even a retry policy that covers "failed" must not redial a number Twilio refused.
    expect(await p.h.fail('initiate_call', notify(ALICE, { retry: { max_attempts: 3, interval_seconds: 0 } }))).toMatch(
      /^The carrier refused the call \(code 21211\): .*The 'To' number/,
    );
    const call = await lastCall(p);

    expect(call).toMatchObject({
      status: 'failed',
      error: { code: '21211', message: expect.stringContaining("The 'To' number +12125550111 is not a valid phone number.") },
      attempts: [{ attempt: 1, status: 'failed', error_code: '21211' }],
      transcript: [],
    });
    expect(p.twilio.restLog).toEqual([{ op: 'calls.create', status: 400 }]);
    expect(p.twilio.calls.size).toBe(0);
  });

  it('a 500 on create ends the call failed and is not re-sent (Twilio may already be dialling)', async () => {
    const p = await switchboardOnTwilio();
    p.twilio.failNext('calls.create', { status: 500, code: 20500, message: 'Internal Server Error' });
    expect(await p.h.fail('initiate_call', notify(ALICE, { retry: { max_attempts: 3, interval_seconds: 0 } }))).toMatch(/refused the call \(code 20500\)/);
    const call = await lastCall(p);

    expect(call).toMatchObject({ status: 'failed', error: { code: '20500' }, attempts: [{ status: 'failed', error_code: '20500' }] });
    expect(p.twilio.restLog).toEqual([{ op: 'calls.create', status: 500 }]);
  });
});

describe('the call length limit on Twilio', () => {
  it('SWITCHBOARD_MAX_CALL_SECONDS goes to Twilio as TimeLimit, and a message longer than that is cut off', async () => {
    const p = await switchboardOnTwilio({}, { SWITCHBOARD_MAX_CALL_SECONDS: '10' });
    const long = 'Your table for two is ready, and we kept the window seat by the fireplace for you tonight.';
    const call = await callAndWait(p, notify(ALICE, { message: long }));

    expect(call).toMatchObject({ status: 'completed', attempts: [{ status: 'completed' }] });
    const [atTwilio] = dialled(p, ALICE);
    expect(atTwilio.request.get('TimeLimit')).toBe('10');
    // Twilio's clock in the emulator: a second to pick up, then a word a second.
    expect(atTwilio.said).toEqual([heard(long).split(' ').slice(0, 9).join(' ')]);
  });
});

describe('Twilio webhooks: authenticated, idempotent, order-proof', () => {
  it('a forged voice webhook claiming a machine answered gets 401 and changes nothing', async () => {
    const p = await switchboardOnTwilio();
    const call = await callAndWait(p, notify(ALICE, { amd: 'detect' }));
    expect(call).toMatchObject({ status: 'completed', answered_by: 'human' });
    const [atTwilio] = dialled(p, ALICE);

    const forged = await p.twilio.post(
      atTwilio.request.get('Url')!,
      { CallSid: atTwilio.sid, AccountSid: ACCOUNT_SID, CallStatus: 'in-progress', Direction: 'outbound-api', From: OUR_NUMBER, To: ALICE, AnsweredBy: 'machine_start' },
      { signature: 'forged' },
    );

    expect(forged.status).toBe(401);
    expect(await p.h.call('get_call', { call_id: call.call_id })).toEqual(call);
  });

  it('a forged status callback gets 401 and leaves the call it names as it was; the genuine one moves it', async () => {
    const p = await switchboardOnTwilio({}, { SWITCHBOARD_INBOUND_POLICY: 'open', SWITCHBOARD_INBOUND_GREETING: GREETING });
    // An accepted inbound call is live until Twilio's status callback says it has ended.
    const { call: atTwilio } = await p.twilio.inboundCall(ALICE, OUR_NUMBER);
    const [live] = (await p.h.call('list_calls', {})).calls;
    expect(live).toMatchObject({ direction: 'inbound', status: 'in_progress' });
    const completed = { AccountSid: ACCOUNT_SID, CallSid: atTwilio.sid, CallStatus: 'completed', Direction: 'inbound', From: ALICE, To: OUR_NUMBER, CallDuration: '4' };

    expect((await p.twilio.post(`${p.publicUrl}/webhooks/twilio/status`, completed, { signature: 'forged' })).status).toBe(401);
    expect((await p.twilio.post(`${p.publicUrl}/webhooks/twilio/status`, completed, { signature: 'missing' })).status).toBe(401);
    expect(await p.h.call('get_call', { call_id: live.call_id })).toMatchObject({ status: 'in_progress', ended_at: null });

    expect((await p.twilio.post(`${p.publicUrl}/webhooks/twilio/status`, completed)).status).toBe(200);
    expect(await p.h.call('get_call', { call_id: live.call_id })).toMatchObject({ status: 'completed', attempts: [{ status: 'completed' }] });
  });

  it('a forged inbound "STOP" gets 401: no message is recorded and nobody is put on the do-not-contact list', async () => {
    const p = await switchboardOnTwilio();
    const sid = `SM${'5'.repeat(32)}`;
    const forged = await p.twilio.post(
      `${p.publicUrl}/webhooks/twilio/sms`,
      { AccountSid: ACCOUNT_SID, MessageSid: sid, SmsSid: sid, SmsStatus: 'received', From: ALICE, To: OUR_NUMBER, Body: 'STOP' },
      { signature: 'forged' },
    );

    expect(forged.status).toBe(401);
    expect((await p.h.call('list_messages', {})).messages).toEqual([]);
    expect((await p.h.call('list_do_not_contact', {})).entries).toEqual([]);
  });

  it('Twilio re-delivering every webhook of a finished call (same signature and idempotency token) changes nothing', async () => {
    const p = await switchboardOnTwilio();
    const call = await callAndWait(p, notify(ALICE, { amd: 'detect' }));
    const delivered = p.twilio.webhooks.slice();
    expect(delivered.map((w) => w.params.CallStatus)).toEqual(['initiated', 'ringing', 'in-progress', 'in-progress', 'completed']);

    for (const webhook of delivered) {
      const again = await p.twilio.replay(webhook);
      expect(again.status).toBe(200);
      expect(again.body).toBe(webhook.body);
    }

    expect(await p.h.call('get_call', { call_id: call.call_id })).toEqual(call);
    expect(call.transcript).toHaveLength(1);
  });

  it('a captured, validly signed webhook replayed with a fresh idempotency token still changes nothing', async () => {
    const p = await switchboardOnTwilio();
    const call = await callAndWait(p, notify(ALICE, { amd: 'detect' }));
    const sms = await p.twilio.inboundSms(ALICE, OUR_NUMBER, 'On my way');

    for (const webhook of [...p.twilio.webhooks, sms]) {
      for (let i = 0; i < 3; i++) {
        const again = await p.twilio.replay({ ...webhook, headers: { ...webhook.headers, 'i-twilio-idempotency-token': randomUUID() } });
        expect(again.status).toBe(200);
      }
    }

    expect(await p.h.call('get_call', { call_id: call.call_id })).toEqual(call);
    expect(call.transcript).toHaveLength(1);
    expect((await p.h.call('list_messages', { direction: 'inbound' })).messages).toHaveLength(1);
  });

  it.each([['a short code', '72975'], ['an alphanumeric sender', 'ACMEBANK']])('a STOP from %s is kept as an inbound message and blocks nobody', async (_what, sender) => {
    const p = await switchboardOnTwilio();
    const sid = `SM${'7'.repeat(32)}`;
    const response = await p.twilio.post(`${p.publicUrl}/webhooks/twilio/sms`, { AccountSid: ACCOUNT_SID, MessageSid: sid, SmsSid: sid, From: sender, To: OUR_NUMBER, Body: 'STOP' });

    expect(response.status).toBe(200);
    expect((await p.h.call('list_messages', { direction: 'inbound' })).messages).toEqual([expect.objectContaining({ from: sender, body: 'STOP', status: 'received' })]);
    expect((await p.h.call('list_do_not_contact', {})).entries).toEqual([]);
  });

  it('a replayed inbound SMS is recorded once', async () => {
    const p = await switchboardOnTwilio();
    const first = await p.twilio.inboundSms(ALICE, OUR_NUMBER, 'Running ten minutes late');
    const again = await p.twilio.replay(first);

    expect(again.status).toBe(200);
    expect((await p.h.call('list_messages', { direction: 'inbound' })).messages).toHaveLength(1);
  });

  it('status callbacks delivered out of order (completed first, ringing last) leave the call completed', async () => {
    const p = await switchboardOnTwilio({ [ALICE]: { reverseCallbacks: true } });
    const call = await callAndWait(p, notify(ALICE));
    // callAndWait waited for the emulator to post every held callback, the stale ones included.
    const order = p.twilio.webhooks.filter((w) => w.url.includes('/status')).map((w) => w.params.CallStatus);
    expect(order).toEqual(['completed', 'in-progress', 'ringing', 'initiated']);

    expect(call).toMatchObject({ status: 'completed', attempts: [{ attempt: 1, status: 'completed' }] });
    expect(call.transcript).toMatchObject([{ speaker: 'agent', text: heard(TABLE_READY) }]);
    expect((await p.h.call('wait_for_calls', { call_ids: [call.call_id], timeout_seconds: 0 })).calls).toMatchObject([{ status: 'completed' }]);
  });
});

describe('inbound calls on Twilio: the policy decides before anyone is connected', () => {
  const allowlist = (numbers: string) => ({ SWITCHBOARD_INBOUND_POLICY: 'allowlist', SWITCHBOARD_INBOUND_ALLOWLIST: numbers });
  it.each<{ policy: string; env: Record<string, string>; caller: string; verdict: 'accepted' | 'rejected' }>([
    { policy: 'disabled (the default)', env: {}, caller: ALICE, verdict: 'rejected' },
    { policy: 'allowlist with the caller listed', env: allowlist(`${BOB},${ALICE}`), caller: ALICE, verdict: 'accepted' },
    { policy: 'allowlist without the caller', env: allowlist(ALICE), caller: BOB, verdict: 'rejected' },
    { policy: 'allowlist', env: allowlist(ALICE), caller: ANONYMOUS, verdict: 'rejected' },
    { policy: 'open', env: { SWITCHBOARD_INBOUND_POLICY: 'open' }, caller: ANONYMOUS, verdict: 'accepted' },
  ])('$policy: a call from $caller is $verdict', async ({ env, caller, verdict }) => {
    const p = await switchboardOnTwilio({}, { SWITCHBOARD_INBOUND_GREETING: GREETING, ...env });
    const { call: atTwilio, response } = await p.twilio.inboundCall(caller, OUR_NUMBER);
    const { calls } = await p.h.call('list_calls', {});

    expect(response.status).toBe(200);
    if (verdict === 'rejected') {
      expect(response.body).toBe(`${XML}<Response><Reject/></Response>`);
      expect(atTwilio).toMatchObject({ rejected: true, said: [] });
      expect(calls).toEqual([]);
      return;
    }
    // The `client` handler (the default): the call is answered and handed to the conversation, which speaks first.
    expect(response.body).toBe(`${XML}<Response><Redirect method="POST">${p.publicUrl}/webhooks/twilio/gather?step=0</Redirect></Response>`);
    expect(atTwilio).toMatchObject({ rejected: false, hungUp: false });
    expect(calls).toMatchObject([{ direction: 'inbound', to: OUR_NUMBER, from: caller === ANONYMOUS ? null : caller, status: 'in_progress' }]);
  });
});

describe('SMS on Twilio, through MCP', () => {
  it('schedule_sms is sent now and ends delivered when Twilio says so', async () => {
    const p = await switchboardOnTwilio();
    const scheduled = await p.h.call('schedule_sms', { to: ALICE, body: TABLE_READY });
    expect(scheduled.created).toBe(true);
    expect(['queued', 'sent', 'delivered']).toContain(scheduled.status);

    const message = await messageSettles(p, scheduled.message_id);

    expect(message).toMatchObject({ direction: 'outbound', to: ALICE, from: OUR_NUMBER, status: 'delivered', error: null });
    expect(message.sent_at).not.toBeNull();
    expect([...p.twilio.messages.values()]).toMatchObject([{ to: ALICE, from: OUR_NUMBER, body: TABLE_READY, status: 'delivered' }]);
    expect(p.twilio.restLog).toEqual([{ op: 'messages.create', status: 201 }]);
  });

  it.each<[Callee['sms'], string]>([
    ['undelivered', '30006'],
    ['failed', '30008'],
  ])('a message Twilio reports %s ends failed with the carrier error code', async (outcome, code) => {
    const p = await switchboardOnTwilio({ [ALICE]: { sms: outcome, smsErrorCode: code } });
    const { message_id } = await p.h.call('schedule_sms', { to: ALICE, body: TABLE_READY });

    const message = await messageSettles(p, message_id);

    expect(message).toMatchObject({ status: 'failed', error: { code } });
    expect(message.error.message).toBeTruthy();
  });

  it('an inbound SMS shows up in list_messages as inbound', async () => {
    const p = await switchboardOnTwilio();
    const sent = await p.twilio.inboundSms(ALICE, OUR_NUMBER, 'Running ten minutes late, keep the table please');

    expect(sent.status).toBe(200);
    const { messages } = await p.h.call('list_messages', { direction: 'inbound' });
    expect(messages).toMatchObject([
      { direction: 'inbound', from: ALICE, to: OUR_NUMBER, body: 'Running ten minutes late, keep the table please', status: 'received' },
    ]);
    expect((await p.h.call('list_messages', { with: ALICE })).messages).toHaveLength(1);
    expect((await p.h.call('list_do_not_contact', {})).entries).toEqual([]);
  });

  it('an inbound STOP puts the sender on do-not-contact; later calls and texts to them fail without reaching Twilio', async () => {
    const p = await switchboardOnTwilio();
    await p.twilio.inboundSms(ALICE, OUR_NUMBER, 'STOP');

    expect((await p.h.call('list_do_not_contact', {})).entries).toMatchObject([{ number: ALICE, source: 'sms_stop' }]);

    expect(await p.h.fail('initiate_call', notify(ALICE))).toMatch(/do-not-contact list, so no call was placed/);
    expect(await p.h.fail('schedule_sms', { to: ALICE, body: TABLE_READY })).toMatch(/do-not-contact list, so no message was sent/);

    expect(creates(p)).toEqual([]);
    expect(p.twilio.calls.size).toBe(0);
    expect(p.twilio.messages.size).toBe(0);
    // Someone else is still reachable.
    expect(await callAndWait(p, notify(BOB))).toMatchObject({ status: 'completed' });
    expect(dialled(p, ALICE)).toEqual([]);
  });
});

describe('a Switchboard restart on Twilio: live calls are reconciled with Twilio before anything is dialed', () => {
  /** A placed call that rings at Twilio until the test moves it on. */
  async function ringingCall(p: Phone, args: Record<string, unknown> = notify(ALICE)) {
    const { call_id } = await p.h.call('initiate_call', args);
    await until(async () => (await p.h.call('get_call', { call_id })).status === 'ringing', 'the call to ring');
    return { call_id, sid: dialled(p, args.to as string).at(-1)!.sid };
  }

  it('a call still ringing at Twilio stays live across the restart, and the callbacks after it land', async () => {
    const p = await switchboardOnTwilio({ [ALICE]: { outcome: 'manual' } });
    const { call_id, sid } = await ringingCall(p);

    await restart(p);
    expect(await p.h.call('get_call', { call_id })).toMatchObject({ status: 'ringing', error: null, attempts: [{ status: 'ringing' }] });
    expect(p.twilio.restLog).toContainEqual({ op: 'calls.fetch', status: 200 });

    await p.twilio.setStatus(sid, 'in-progress');
    await p.twilio.setStatus(sid, 'completed');
    expect(await p.h.call('get_call', { call_id })).toMatchObject({ status: 'completed', error: null, attempts: [{ status: 'completed' }] });
  });

  it('a call Twilio answered and finished while Switchboard was down ends completed, with when it was answered', async () => {
    const p = await switchboardOnTwilio({ [ALICE]: { outcome: 'manual' } });
    const { call_id, sid } = await ringingCall(p);

    await restart(p, async () => {
      await p.twilio.setStatus(sid, 'in-progress', { lost: true });
      await p.twilio.setStatus(sid, 'completed', { lost: true });
    });

    const call = await p.h.call('get_call', { call_id });
    expect(call).toMatchObject({ status: 'completed', error: null, attempts: [{ status: 'completed', error_code: null }] });
    expect(Date.parse(call.answered_at)).toBeLessThan(Date.parse(call.ended_at));
  });

  it('a busy signal Twilio reported while Switchboard was down ends that attempt busy, and the retry policy dials again', async () => {
    let dials = 0;
    const callees: Record<string, Callee> = {
      get [ALICE](): Callee {
        return ++dials === 1 ? { outcome: 'manual' } : { outcome: 'answer' };
      },
    };
    const p = await switchboardOnTwilio(callees);
    const { call_id, sid } = await ringingCall(p, notify(ALICE, { retry: { max_attempts: 2, interval_seconds: 0 } }));

    await restart(p, () => p.twilio.setStatus(sid, 'busy', { lost: true }));

    const waited = await p.h.call('wait_for_calls', { call_ids: [call_id], timeout_seconds: 10 });
    expect(waited).toMatchObject({ done: true });
    await twilioIsDone(p);
    expect(await p.h.call('get_call', { call_id })).toMatchObject({ status: 'completed', attempts: [{ attempt: 1, status: 'busy' }, { attempt: 2, status: 'completed' }] });
    expect(dialled(p, ALICE)).toHaveLength(2);
  });

  it('a call Twilio no longer knows ends failed (interrupted) and is not dialed again', async () => {
    const p = await switchboardOnTwilio({ [ALICE]: { outcome: 'manual' } });
    const { call_id, sid } = await ringingCall(p, notify(ALICE, { retry: { max_attempts: 3, interval_seconds: 0 } }));

    await restart(p, async () => p.twilio.forget(sid));

    expect(await p.h.call('get_call', { call_id })).toMatchObject({ status: 'failed', error: { code: 'interrupted' }, attempts: [{ status: 'failed' }] });
    expect(creates(p)).toHaveLength(1);
  });

  it('a Twilio that cannot be reached leaves the call live (its deadline will end it), and dispatch still resumes', async () => {
    const p = await switchboardOnTwilio({ [ALICE]: { outcome: 'manual' } });
    const { call_id } = await ringingCall(p);

    await restart(p, async () => {
      for (let i = 0; i < 3; i++) p.twilio.failNext('calls.fetch', { status: 503, code: 20503, message: 'Service Unavailable' });
    });

    expect(await p.h.call('get_call', { call_id })).toMatchObject({ status: 'ringing', error: null });
    expect(await callAndWait(p, notify(BOB))).toMatchObject({ status: 'completed' });
  });
});

describe('the deadline on Twilio', () => {
  it('holds across a restart: a call Twilio never ends is hung up six seconds after its dial, not after the restart', async () => {
    // Deadline: ring timeout 5 s + SWITCHBOARD_MAX_CALL_SECONDS 1 s + no grace.
    const p = await switchboardOnTwilio(
      { [ALICE]: { outcome: 'manual' } },
      { SWITCHBOARD_RING_TIMEOUT_SECONDS: '5', SWITCHBOARD_MAX_CALL_SECONDS: '1', SWITCHBOARD_CALL_DEADLINE_GRACE_SECONDS: '0' },
    );
    const { call_id } = await p.h.call('initiate_call', notify(ALICE));
    await until(async () => (await p.h.call('get_call', { call_id })).status === 'ringing', 'the call to ring');
    const [atTwilio] = dialled(p, ALICE);
    await p.twilio.setStatus(atTwilio.sid, 'in-progress');

    await restart(p, () => new Promise((resolve) => setTimeout(resolve, 3000))); // down for half of it
    expect((await p.h.call('get_call', { call_id })).status).toBe('in_progress');

    expect(await p.h.call('wait_for_calls', { call_ids: [call_id], timeout_seconds: 15 })).toMatchObject({ done: true });
    const ended = await p.h.call('get_call', { call_id });
    expect(ended).toMatchObject({ status: 'completed', error: { code: 'max_duration_exceeded' }, attempts: [{ status: 'completed', hangup_cause: 'max_duration_exceeded' }] });
    const lasted = Date.parse(ended.ended_at) - Date.parse(ended.attempts[0].started_at);
    expect(lasted).toBeGreaterThanOrEqual(6000);
    expect(lasted).toBeLessThan(8000);
    // Twilio is told to hang up; its "completed" callback comes after Switchboard's own end and changes nothing.
    await until(() => atTwilio.status === 'completed', 'Twilio to be told to hang up');
    await twilioIsDone(p);
    expect(p.twilio.restLog.filter((r) => r.op === 'calls.update')).toEqual([{ op: 'calls.update', status: 200 }]);
    expect(await p.h.call('get_call', { call_id })).toEqual(ended);
  });

  it('a number put on do-not-contact mid-call whose hangup Twilio never reports: the call ends within seconds anyway', async () => {
    const p = await switchboardOnTwilio({ [ALICE]: { outcome: 'manual' } });
    const { call_id } = await p.h.call('initiate_call', notify(ALICE));
    await until(async () => (await p.h.call('get_call', { call_id })).status === 'ringing', 'the call to ring');
    const [atTwilio] = dialled(p, ALICE);
    await p.twilio.setStatus(atTwilio.sid, 'in-progress');
    p.twilio.loseCallbacks(atTwilio.sid);

    await p.h.call('add_do_not_contact', { number: ALICE });

    expect(await p.h.call('wait_for_calls', { call_ids: [call_id], timeout_seconds: 10 })).toMatchObject({ done: true });
    expect(await p.h.call('get_call', { call_id })).toMatchObject({
      status: 'completed',
      error: { code: 'do_not_contact' },
      attempts: [{ status: 'completed', hangup_cause: 'hangup_unconfirmed' }],
    });
    expect(atTwilio).toMatchObject({ hungUp: true, status: 'completed' });
  });
});

describe('end_call on Twilio', () => {
  it('ends a call Twilio no longer knows at once, with the reason, instead of waiting for a report that cannot come', async () => {
    const p = await switchboardOnTwilio({ [ALICE]: { outcome: 'manual' } });
    const { call_id } = await p.h.call('initiate_call', notify(ALICE));
    await until(async () => (await p.h.call('get_call', { call_id })).status === 'ringing', 'the call to ring');
    p.twilio.forget(dialled(p, ALICE)[0].sid);

    const ended = await p.h.call('end_call', { call_id });

    expect(ended).toMatchObject({ status: 'canceled', error: { code: 'ended_by_client' }, attempts: [{ status: 'canceled', hangup_cause: 'unknown_to_carrier' }] });
    expect(p.twilio.restLog.slice(1)).toEqual([
      { op: 'calls.update', status: 404 },
      { op: 'calls.fetch', status: 404 },
    ]);
  });

  it('hangs up a ringing call: Twilio cancels it and says so, and end_call answers with that', async () => {
    const p = await switchboardOnTwilio({ [ALICE]: { outcome: 'manual' } });
    const { call_id } = await p.h.call('initiate_call', notify(ALICE, { retry: { max_attempts: 3, interval_seconds: 0 } }));
    await until(async () => (await p.h.call('get_call', { call_id })).status === 'ringing', 'the call to ring');

    expect(await p.h.call('end_call', { call_id })).toMatchObject({ status: 'canceled', error: { code: 'ended_by_client' }, attempts: [{ status: 'canceled', hangup_cause: null }] });
    await twilioIsDone(p);
    expect(creates(p)).toHaveLength(1);
  });
});
