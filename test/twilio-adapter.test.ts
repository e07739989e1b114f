import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { CarrierError, type CarrierEvent, type PlaceCallRequest } from '../src/telephony/provider.js';
import { diagnose } from '../src/doctor/doctor.js';
import { twilioDoctor } from '../src/telephony/twilio/doctor.js';
import { isSignedByTwilio } from '../src/telephony/twilio/signature.js';
import { dialRequest } from './fakes/fake-domain.js';
import { ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, world, type World } from './fakes/twilio-adapter-harness.js';
import type { AnsweredByValue, Callee } from './fakes/twilio-emulator.js';

const PERSON = '+12125550111';


let nextCall = 0;
/** Places a call the way the domain would, and waits until Twilio has played it out. */
async function dial(w: World, to: string, ask: Partial<PlaceCallRequest> = {}) {
  const callId = `call_test${++nextCall}`;
  const req = dialRequest(callId, to, OUR_NUMBER, ask);
  w.domain.dialing(req);
  const { providerCallId } = await w.twilio.placeCall(req);
  await w.emulator.finished(providerCallId);
  const call = w.emulator.calls.get(providerCallId)!;
  return { callId, providerCallId, call, events: w.domain.eventsOf(callId) };
}

const types = (events: CarrierEvent[]) => events.map((e) => e.type);
const ended = (events: CarrierEvent[]) => events.find((e) => e.type === 'call.ended');

describe('Twilio outbound calls', () => {
  it('a notify call speaks the message, hangs up, and ends completed', async () => {
    const w = await world();
    const { callId, providerCallId, call, events } = await dial(w, PERSON);

    expect(call.twiml).toEqual(['<?xml version="1.0" encoding="UTF-8"?><Response><Say>Your table for two is ready.</Say><Hangup/></Response>']);
    expect(call.said).toEqual(['Your table for two is ready.']);
    expect(types(events)).toEqual(['call.ringing', 'call.answered', 'call.transcript', 'call.ended']);
    expect(events.find((e) => e.type === 'call.transcript')).toMatchObject({ speaker: 'agent', text: 'Your table for two is ready.' });
    expect(ended(events)).toMatchObject({ status: 'completed' });
    for (const e of events) expect(e).toMatchObject({ providerCallId, callId, attempt: 1 });
  });

  it('asks Twilio for the call exactly as configured', async () => {
    const w = await world();
    const { callId, call } = await dial(w, PERSON, { amd: 'detect' });
    const form = call.request;

    expect(form.get('Url')).toBe(`${w.publicUrl}/webhooks/twilio/voice?call_id=${callId}&attempt=1`);
    expect(form.get('StatusCallback')).toBe(`${w.publicUrl}/webhooks/twilio/status?call_id=${callId}&attempt=1`);
    expect(form.getAll('StatusCallbackEvent')).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(form.get('Timeout')).toBe('25');
    expect(form.get('TimeLimit')).toBe('300');
    expect(form.get('MachineDetection')).toBe('Enable');
    expect(form.get('From')).toBe(OUR_NUMBER);
  });

  it.each<[AnsweredByValue, 'detect' | 'voicemail', string, string[]]>([
    ['human', 'detect', 'human', ['Your table for two is ready.']],
    ['unknown', 'detect', 'unknown', ['Your table for two is ready.']],
    ['fax', 'detect', 'fax', []],
    ['machine_start', 'detect', 'machine', []],
    ['machine_end_beep', 'voicemail', 'machine', ['Please call us back.']],
    ['machine_end_silence', 'voicemail', 'machine', ['Please call us back.']],
    ['machine_end_other', 'voicemail', 'machine', ['Please call us back.']],
  ])('reports AnsweredBy=%s (amd %s) as %s and says %j', async (answeredBy, amd, expected, said) => {
    const w = await world({ [PERSON]: { answeredBy } });
    const { call, events } = await dial(w, PERSON, { amd, voicemailMessage: 'Please call us back.' });

    expect(call.request.get('MachineDetection')).toBe(amd === 'detect' ? 'Enable' : 'DetectMessageEnd');
    expect(events.filter((e) => e.type === 'call.answered_by')).toMatchObject([{ answeredBy: expected }]);
    expect(call.said).toEqual(said);
    expect(call.hungUp).toBe(true);
    expect(events.filter((e) => e.type === 'call.transcript').map((e) => (e.type === 'call.transcript' ? e.text : ''))).toEqual(said);
    expect(ended(events)).toMatchObject({ status: expected === 'machine' ? 'voicemail' : 'completed' });
  });

  it('leaves the voicemail message after the beep, then hangs up', async () => {
    const w = await world({ [PERSON]: { answeredBy: 'machine_end_beep' } });
    const { call, events } = await dial(w, PERSON, { amd: 'voicemail', voicemailMessage: 'Hi, this is Ace Roofing; call us back at 555-0100.' });

    expect(call.twiml.at(-1)).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hi, this is Ace Roofing; call us back at 555-0100.</Say><Hangup/></Response>');
    expect(types(events)).toEqual(['call.ringing', 'call.answered', 'call.answered_by', 'call.transcript', 'call.ended']);
    expect(ended(events)).toMatchObject({ status: 'voicemail' });
  });

  it.each<[string, Callee, object]>([
    ['busy', { outcome: 'busy' }, { status: 'busy', cause: 'sip_486' }],
    ['no answer', { outcome: 'no-answer' }, { status: 'no_answer', cause: 'sip_487' }],
    ['failed', { outcome: 'failed', errorCode: '13224', sipResponseCode: 404 }, { status: 'failed', cause: 'sip_404', errorCode: '13224' }],
  ])('maps a %s call to its end status', async (_, callee, expected) => {
    const w = await world({ [PERSON]: callee });
    const { call, events } = await dial(w, PERSON);

    expect(call.twiml).toEqual([]);
    expect(types(events)).toEqual(['call.ringing', 'call.ended']);
    expect(ended(events)).toMatchObject(expected);
  });

  it('delivers status callbacks that arrive out of order as they come; the domain ignores backward moves', async () => {
    const w = await world({ [PERSON]: { reverseCallbacks: true } });
    const { events } = await dial(w, PERSON);

    expect(types(events)).toEqual(['call.transcript', 'call.ended', 'call.answered', 'call.ringing']);
  });

  it('hangs up an attempt it does not know instead of guessing', async () => {
    const w = await world();
    const sent = await w.emulator.post(`${w.publicUrl}/webhooks/twilio/voice?call_id=call_unknown&attempt=1`, {
      CallSid: `CA${'0'.repeat(32)}`,
      CallStatus: 'in-progress',
      Direction: 'outbound-api',
    });

    expect(sent.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>');
    expect(w.domain.events).toEqual([]);
  });

  it('refuses an agent call, which needs the media bridge, without asking Twilio', async () => {
    const w = await world();
    await expect(w.twilio.placeCall({ ...baseRequest(), mode: 'agent' })).rejects.toMatchObject({ code: 'unsupported_mode', message: expect.stringContaining('use mode "notify"') });
    expect(w.emulator.restLog).toEqual([]);
  });
});

describe('Twilio call state, asked over REST when callbacks may have been missed', () => {
  it('a call that talked and ended comes back as its answer, dated from its length, then its end', async () => {
    const w = await world();
    const { callId, providerCallId, call } = await dial(w, PERSON);

    const state = await w.twilio.callState({ providerCallId, callId, attempt: 1 });
    expect(state).toMatchObject([
      { type: 'call.answered', providerCallId, callId, attempt: 1 },
      { type: 'call.ended', status: 'completed', providerCallId, callId, attempt: 1 },
    ]);
    // Twilio dates to the second: the end as it stamped it, the answer a whole number of seconds before.
    const [answered, end] = (state as { at: string }[]).map((e) => Date.parse(e.at));
    expect(end).toBe(Math.floor(call.endedAt!.getTime() / 1000) * 1000);
    expect(end - answered).toBeGreaterThanOrEqual(1000);
    expect(w.emulator.restLog.at(-1)).toEqual({ op: 'calls.fetch', status: 200 });
  });

  it.each<[string, Callee, object[]]>([
    ['busy', { outcome: 'busy' }, [{ type: 'call.ended', status: 'busy' }]],
    ['no answer', { outcome: 'no-answer' }, [{ type: 'call.ended', status: 'no_answer' }]],
    ['failed', { outcome: 'failed' }, [{ type: 'call.ended', status: 'failed' }]],
    ['still ringing', { outcome: 'manual' }, [{ type: 'call.ringing' }]],
  ])('a call that is %s at Twilio comes back as such', async (_, callee, expected) => {
    const w = await world({ [PERSON]: callee });
    const { callId, providerCallId } = await dial(w, PERSON);

    expect(await w.twilio.callState({ providerCallId, callId, attempt: 1 })).toMatchObject(expected);
  });

  it('a call in progress comes back answered, and one a machine took ends as a voicemail', async () => {
    const w = await world({ [PERSON]: { outcome: 'manual' }, '+12125550122': { answeredBy: 'machine_end_beep' } });
    const ringing = await dial(w, PERSON);
    await w.emulator.setStatus(ringing.providerCallId, 'in-progress', { lost: true });
    const machine = await dial(w, '+12125550122', { amd: 'voicemail', voicemailMessage: 'Call us back.' });

    expect(await w.twilio.callState({ providerCallId: ringing.providerCallId })).toMatchObject([{ type: 'call.answered' }]);
    expect(await w.twilio.callState({ providerCallId: machine.providerCallId })).toMatchObject([{ type: 'call.answered' }, { type: 'call.ended', status: 'voicemail' }]);
  });

  it('a call Twilio does not know is unknown, and hanging it up finds it gone', async () => {
    const w = await world();
    const sid = `CA${'9'.repeat(32)}`;

    expect(await w.twilio.callState({ providerCallId: sid })).toBe('unknown');
    expect(await w.twilio.hangup(sid)).toBe('gone');
  });

  it('a Twilio that cannot answer is an error, not a guess', async () => {
    const w = await world();
    const { providerCallId } = await dial(w, PERSON);
    for (let i = 0; i < 3; i++) w.emulator.failNext('calls.fetch', { status: 503, code: 20503, message: 'Service Unavailable' });

    await expect(w.twilio.callState({ providerCallId })).rejects.toMatchObject({ name: 'CarrierError', code: '20503' });
  });
});

describe('Twilio webhook authentication and idempotency', () => {
  const statusParams = { AccountSid: ACCOUNT_SID, CallSid: `CA${'1'.repeat(32)}`, CallStatus: 'completed', SequenceNumber: '3' };

  it('answers 401 and delivers nothing when the signature is forged, missing, or made for another URL', async () => {
    const w = await world();
    const url = `${w.publicUrl}/webhooks/twilio/status?call_id=call_x&attempt=1`;

    expect((await w.emulator.post(url, statusParams, { signature: 'forged' })).status).toBe(401);
    expect((await w.emulator.post(url, statusParams, { signature: 'missing' })).status).toBe(401);
    const signedForOtherCall = w.emulator.sign(url.replace('call_x', 'call_y'), statusParams);
    const moved = await w.emulator.replay({ url, params: statusParams, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signedForOtherCall } });
    expect(moved.status).toBe(401);
    for (const path of ['voice', 'sms']) {
      expect((await w.emulator.post(`${w.publicUrl}/webhooks/twilio/${path}`, statusParams, { signature: 'forged' })).status).toBe(401);
    }

    expect(w.domain.events).toEqual([]);
    expect(w.domain.inboundAsked).toEqual([]);
  });

  it('applies a replayed delivery once, and answers the replay the same way', async () => {
    const w = await world();
    const { callId } = await dial(w, PERSON);
    const before = w.domain.eventsOf(callId).length;

    for (const hook of w.emulator.webhooks.slice()) {
      const again = await w.emulator.replay(hook);
      expect(again.status).toBe(200);
      expect(again.body).toBe(hook.body);
    }
    expect(w.domain.eventsOf(callId)).toHaveLength(before);
  });

  it('dedupes by the event itself when Twilio sends no idempotency token', async () => {
    const w = await world();
    const url = `${w.publicUrl}/webhooks/twilio/status?call_id=call_x&attempt=1`;
    await w.emulator.post(url, statusParams, { idempotencyToken: null });
    await w.emulator.post(url, statusParams, { idempotencyToken: null });
    expect(types(w.domain.events)).toEqual(['call.ended']);

    await w.emulator.post(url, { ...statusParams, SequenceNumber: '4' }, { idempotencyToken: null });
    expect(types(w.domain.events)).toEqual(['call.ended', 'call.ended']);
  });

  it('checks signatures with the reference vectors (form and JSON bodies)', () => {
    const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
    const form = Buffer.from(new URLSearchParams({ CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' }).toString());
    const contentType = 'application/x-www-form-urlencoded';
    expect(isSignedByTwilio('12345', { url, signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', rawBody: form, contentType })).toBe(true);
    expect(isSignedByTwilio('12345', { url, signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B9=', rawBody: form, contentType })).toBe(false);

    const json = '{"property": "value", "boolean": true}';
    const jsonUrl = `${url}&bodySHA256=${createHash('sha256').update(json).digest('hex')}`;
    const signed = { url: jsonUrl, signature: 'a9nBmqA0ju/hNViExpshrM61xv4=', contentType: 'application/json' };
    expect(isSignedByTwilio('12345', { ...signed, rawBody: Buffer.from(json) })).toBe(true);
    expect(isSignedByTwilio('12345', { ...signed, rawBody: Buffer.from(json.replace('value', 'other')) })).toBe(false);
  });

  it('with verification switched off, accepts unsigned webhooks and says so loudly once', async () => {
    const w = await world({}, { SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY: 'true' });
    const url = `${w.publicUrl}/webhooks/twilio/status?call_id=call_x&attempt=1`;
    await w.emulator.post(url, statusParams, { signature: 'missing' });
    await w.emulator.post(url, { ...statusParams, SequenceNumber: '4' }, { signature: 'missing' });

    expect(types(w.domain.events)).toEqual(['call.ended', 'call.ended']);
    expect(w.domain.logs.filter((l) => l.msg.includes('NOT checked'))).toHaveLength(1);
  });
});

describe('Twilio inbound calls', () => {
  it('asks the policy first, then answers an accepted caller and hands the call to the conversation (the client handler)', async () => {
    const w = await world();
    w.domain.policy = () => ({ accept: true, greeting: 'Hello, you have reached an AI assistant.' });
    const { call, response } = await w.emulator.inboundCall(PERSON, OUR_NUMBER);

    expect(w.domain.inboundAsked).toEqual([{ from: PERSON, to: OUR_NUMBER }]);
    // The conversation says the disclosure and whatever else the caller hears (twilio-conversation.test.ts).
    expect(response.body).toBe(`<?xml version="1.0" encoding="UTF-8"?><Response><Redirect method="POST">${w.publicUrl}/webhooks/twilio/gather?step=0</Redirect></Response>`);
    expect(w.domain.events).toMatchObject([
      { type: 'call.inbound', providerCallId: call.sid, from: PERSON, to: OUR_NUMBER },
      { type: 'call.answered', providerCallId: call.sid },
    ]);
    expect(w.domain.events).toHaveLength(2);
  });

  it('rejects a refused caller without ever connecting the call', async () => {
    const w = await world();
    const { call, response } = await w.emulator.inboundCall(PERSON, OUR_NUMBER);

    expect(response.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Reject/></Response>');
    expect(call.rejected).toBe(true);
    expect(call.said).toEqual([]);
    expect(w.domain.events).toEqual([]);
  });

  it('passes a withheld caller id to the policy as null', async () => {
    const w = await world();
    await w.emulator.inboundCall('+266696687', OUR_NUMBER);
    expect(w.domain.inboundAsked).toEqual([{ from: null, to: OUR_NUMBER }]);
  });
});

describe('Twilio SMS', () => {
  it('sends a text and follows it to delivered', async () => {
    const w = await world();
    const { providerMessageId } = await w.twilio.sendSms({ messageId: 'sms_1', to: PERSON, from: OUR_NUMBER, body: 'See you at 7.', idempotencyKey: 'sms_1' });
    await w.emulator.finished(providerMessageId);

    expect(w.emulator.messages.get(providerMessageId)).toMatchObject({ to: PERSON, from: OUR_NUMBER, body: 'See you at 7.' });
    expect(w.emulator.webhooks.every((h) => h.url === `${w.publicUrl}/webhooks/twilio/status`)).toBe(true);
    expect(w.domain.events).toMatchObject([
      { type: 'sms.sent', providerMessageId },
      { type: 'sms.delivered', providerMessageId },
    ]);
  });

  it('reports an undelivered text as failed with the Twilio error code', async () => {
    const w = await world({ [PERSON]: { sms: 'undelivered', smsErrorCode: '30006' } });
    const { providerMessageId } = await w.twilio.sendSms({ messageId: 'sms_2', to: PERSON, from: OUR_NUMBER, body: 'Hello?', idempotencyKey: 'sms_2' });
    await w.emulator.finished(providerMessageId);

    expect(w.domain.events).toMatchObject([{ type: 'sms.sent' }, { type: 'sms.failed', providerMessageId, errorCode: '30006' }]);
  });

  it('receives a text and answers with an empty TwiML response', async () => {
    const w = await world();
    const sent = await w.emulator.inboundSms(PERSON, OUR_NUMBER, 'STOP');

    expect(sent.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    expect(w.domain.events).toMatchObject([{ type: 'sms.inbound', from: PERSON, to: OUR_NUMBER, body: 'STOP' }]);
    await w.emulator.replay(sent);
    expect(w.domain.events).toHaveLength(1);
  });
});

describe('Twilio REST errors and retries', () => {
  it('retries a hangup (idempotent) after a 500 and succeeds', async () => {
    const w = await world();
    const { providerCallId } = await dial(w, PERSON);
    w.emulator.failNext('calls.update', { status: 500, code: 20500, message: 'Internal Server Error' });

    await w.twilio.hangup(providerCallId);
    expect(w.emulator.restLog.filter((r) => r.op === 'calls.update')).toEqual([
      { op: 'calls.update', status: 500 },
      { op: 'calls.update', status: 200 },
    ]);
  });

  it('gives up on a hangup after three 503s with a retryable CarrierError', async () => {
    const w = await world();
    const { providerCallId } = await dial(w, PERSON);
    for (let i = 0; i < 3; i++) w.emulator.failNext('calls.update', { status: 503, code: 20503, message: 'Service Unavailable' });

    await expect(w.twilio.hangup(providerCallId)).rejects.toMatchObject({ name: 'CarrierError', code: '20503', retryable: true });
    expect(w.emulator.restLog.filter((r) => r.op === 'calls.update')).toHaveLength(3);
  });

  it('treats hanging up a call Twilio no longer has as done: the call is gone', async () => {
    const w = await world();
    await expect(w.twilio.hangup(`CA${'9'.repeat(32)}`)).resolves.toBe('gone');
  });

  it('never retries a call create after a 500: it may already be ringing', async () => {
    const w = await world();
    w.emulator.failNext('calls.create', { status: 500, code: 20500, message: 'Internal Server Error' });

    const failure = await w.twilio.placeCall(baseRequest()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(CarrierError);
    expect(failure).toMatchObject({ code: '20500', retryable: false });
    expect(w.emulator.restLog).toEqual([{ op: 'calls.create', status: 500 }]);
  });

  it('marks a rate-limited create retryable (Twilio did nothing) but leaves the retry to the scheduler', async () => {
    const w = await world();
    w.emulator.failNext('messages.create', { status: 429, code: 20429, message: 'Too Many Requests' });

    await expect(w.twilio.sendSms({ messageId: 'sms_3', to: PERSON, from: OUR_NUMBER, body: 'x', idempotencyKey: 'sms_3' })).rejects.toMatchObject({ code: '20429', retryable: true });
    expect(w.emulator.restLog).toEqual([{ op: 'messages.create', status: 429 }]);
  });

  it("passes Twilio's refusal through with its code and sentence", async () => {
    const w = await world();
    w.emulator.failNext('calls.create', { status: 400, code: 21211, message: "The 'To' number +1555 is not a valid phone number." });

    await expect(w.twilio.placeCall(baseRequest())).rejects.toMatchObject({
      code: '21211',
      retryable: false,
      message: expect.stringContaining("The 'To' number +1555 is not a valid phone number."),
    });
  });

  it('fails with Twilio authentication error 20003 when the token is wrong', async () => {
    const w = await world({}, { TWILIO_AUTH_TOKEN: 'ffffffffffffffffffffffffffffffff' });
    await expect(w.twilio.placeCall(baseRequest())).rejects.toMatchObject({ code: '20003', retryable: false });
  });
});

describe('twilio doctor', () => {
  const env = {
    SWITCHBOARD_DATA_DIR: join(tmpdir(), 'switchboard-doctor-unused'),
    SWITCHBOARD_PROVIDER: 'twilio',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    SWITCHBOARD_PUBLIC_URL: 'https://switchboard.example.com',
    SWITCHBOARD_FROM_NUMBER: OUR_NUMBER,
  };

  it('passes a complete setup and prints the URLs to paste into the console', () => {
    const checks = twilioDoctor(loadConfig(env));
    const details = checks.map((c) => c.detail).join('\n');

    expect(checks.filter((c) => c.status === 'fail' || c.status === 'warn')).toEqual([]);
    for (const path of ['voice', 'status', 'sms']) expect(details).toContain(`https://switchboard.example.com/webhooks/twilio/${path}`);
    expect(checks.find((c) => c.status === 'skip')?.detail).toMatch(/credentials.*number/s);
    expect(details).not.toContain(AUTH_TOKEN);
  });

  it('says what an incomplete setup lacks and where to find it', () => {
    const failed = diagnose({ SWITCHBOARD_DATA_DIR: env.SWITCHBOARD_DATA_DIR, SWITCHBOARD_PROVIDER: 'twilio' }).filter((c) => c.status === 'fail');

    expect(failed.map((c) => c.detail.split(':')[0])).toEqual(['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'SWITCHBOARD_PUBLIC_URL', 'SWITCHBOARD_FROM_NUMBER']);
    expect(failed[0].detail).toMatch(/Account SID, AC…, on the Twilio console home page/);
  });

  it('says a public URL Twilio cannot reach is wrong', () => {
    const checks = twilioDoctor(loadConfig({ ...env, SWITCHBOARD_PUBLIC_URL: 'http://localhost:3340' }));
    expect(checks.filter((c) => c.status === 'fail').map((c) => c.label)).toEqual(['SWITCHBOARD_PUBLIC_URL']);
  });
});

function baseRequest(): PlaceCallRequest {
  return dialRequest('call_base', PERSON, OUR_NUMBER, { message: 'Hi', ringTimeoutSeconds: 30 });
}
