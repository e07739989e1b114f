import { generateKeyPairSync, sign } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config.js';
import { CarrierError } from '../src/telephony/provider.js';
import { decodeClientState } from '../src/telephony/telnyx/client-state.js';
import { diagnose } from '../src/doctor/doctor.js';
import { telnyxDoctor } from '../src/telephony/telnyx/doctor.js';
import { createTelnyxProvider } from '../src/telephony/telnyx/provider.js';
import { verifyTelnyxSignature, parseTelnyxPublicKey } from '../src/telephony/telnyx/signature.js';
import { FakeDomain } from './fakes/fake-domain.js';
import { adapterHarness, OUR_NUMBER, placeCall, type AdapterHarness } from './fakes/telnyx-adapter-harness.js';
import { until } from './helpers.js';

const CALLER = '+12125550199';
const GREETING = 'Hello, you have reached Switchboard.';

type Harness = AdapterHarness;

/** The adapter with this file's settings: an inbound greeting and a messaging profile. */
const harness = (opts: { key?: 'raw' | 'der'; env?: Record<string, string>; timeoutMs?: number } = {}) =>
  adapterHarness({ ...opts, env: { SWITCHBOARD_INBOUND_GREETING: 'Default greeting.', TELNYX_MESSAGING_PROFILE_ID: '40017f8e-49bd-4f16-9e3d-ef103f916228', ...opts.env } });

async function finished(h: Harness, callId: string) {
  const ended = await until(() => h.domain.ended(callId), `call ${callId} to end`);
  await h.emulator.settled();
  await h.provider.stop();
  return ended;
}

function typesFor(h: Harness, callId: string): string[] {
  return h.domain.eventsOf(callId).map((e) => e.type);
}

describe('telnyx adapter: outbound notify calls', () => {
  it('dials through the SDK with our ids in client_state, speaks, and hangs up only after call.speak.ended', async () => {
    const h = await harness();
    const to = '+12125550101';
    const { callId, call } = await placeCall(h, to);
    const ended = await finished(h, callId);

    expect(ended).toMatchObject({ status: 'completed', cause: 'normal_clearing', attempt: 1, providerCallId: call.id });
    expect(typesFor(h, callId)).toEqual(['call.ringing', 'call.answered', 'call.transcript', 'call.ended']);
    expect(h.domain.events.find((e) => e.type === 'call.transcript')).toMatchObject({ speaker: 'agent', text: 'Your table for two is ready.' });
    expect(call.dial).toMatchObject({
      connection_id: h.emulator.connectionId,
      to,
      from: OUR_NUMBER,
      webhook_url: `${h.sidecar.url}/webhooks/telnyx`,
      command_id: `${callId}-attempt-1`,
      timeout_secs: 25,
      time_limit_secs: 120,
    });
    expect(call.dial).not.toHaveProperty('answering_machine_detection');
    expect(decodeClientState(call.dial!.client_state as string)).toEqual({ call_id: callId, attempt: 1 });
    expect(call.spoken).toEqual(['Your table for two is ready.']);
    expect(call.commands.find((c) => c.verb === 'speak')!.body).toMatchObject({ voice: 'female', language: 'en-US' });
    expect(call.hangupWhileSpeaking).toBe(false);
    expect(call.timeline).toEqual([
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

  it('AMD detect, human: reports answered_by human, then speaks', async () => {
    const h = await harness();
    const { callId, call } = await placeCall(h, '+12125550102', { amd: 'detect' });
    const ended = await finished(h, callId);
    expect(call.dial).toMatchObject({ answering_machine_detection: 'detect' });
    expect(h.domain.events).toContainEqual(expect.objectContaining({ type: 'call.answered_by', answeredBy: 'human', callId }));
    expect(call.spoken).toEqual(['Your table for two is ready.']);
    expect(call.timeline.indexOf('cmd:speak')).toBeGreaterThan(call.timeline.indexOf('hook:call.machine.detection.ended'));
    expect(ended.status).toBe('completed');
  });

  it('AMD detect, machine: hangs up without speaking and ends as voicemail', async () => {
    const h = await harness();
    h.emulator.scriptCall('+12125550103', 'machine');
    const { callId, call } = await placeCall(h, '+12125550103', { amd: 'detect' });
    const ended = await finished(h, callId);
    expect(h.domain.events).toContainEqual(expect.objectContaining({ type: 'call.answered_by', answeredBy: 'machine', callId }));
    expect(call.spoken).toEqual([]);
    expect(ended).toMatchObject({ status: 'voicemail', cause: 'normal_clearing' });
  });

  it('AMD voicemail: waits for the beep, leaves the voicemail message, then hangs up as voicemail', async () => {
    const h = await harness();
    h.emulator.scriptCall('+12125550104', 'machine');
    const { callId, call } = await placeCall(h, '+12125550104', { amd: 'voicemail', voicemailMessage: 'Please call us back about your table.' });
    const ended = await finished(h, callId);
    expect(call.dial).toMatchObject({ answering_machine_detection: 'detect_beep' });
    expect(call.spoken).toEqual(['Please call us back about your table.']);
    expect(call.timeline.indexOf('cmd:speak')).toBeGreaterThan(call.timeline.indexOf('hook:call.machine.greeting.ended'));
    expect(call.timeline.indexOf('cmd:hangup')).toBeGreaterThan(call.timeline.indexOf('hook:call.speak.ended'));
    expect(call.hangupWhileSpeaking).toBe(false);
    expect(h.domain.events).toContainEqual(expect.objectContaining({ type: 'call.transcript', speaker: 'agent', text: 'Please call us back about your table.', callId }));
    expect(ended).toMatchObject({ status: 'voicemail' });
  });

  it.each([
    ['busy', 'busy', 'user_busy', '486'],
    ['no_answer', 'no_answer', 'timeout', '480'],
    ['reject', 'failed', 'call_rejected', '603'],
  ] as const)('maps a callee that is %s to %s', async (behaviour, status, cause, sip) => {
    const h = await harness();
    h.emulator.scriptCall('+12125550105', behaviour);
    const { callId, call } = await placeCall(h, '+12125550105');
    const ended = await finished(h, callId);
    expect(ended).toMatchObject({ status, cause, errorCode: sip });
    expect(typesFor(h, callId)).toEqual(['call.ringing', 'call.ended']);
    expect(call.commands).toEqual([]);
  });

  it('a message Telnyx refuses to speak fails the attempt with its code and the silent line is hung up', async () => {
    const h = await harness();
    const { callId, call } = await placeCall(h, '+12125550108', { message: 'x'.repeat(3001) });
    const ended = await finished(h, callId);
    expect(ended).toMatchObject({ status: 'failed', errorCode: '10015' });
    expect(ended.errorMessage).toMatch(/3,000 characters/);
    expect(call.spoken).toEqual([]);
    expect(call.commands.map((c) => c.verb)).toEqual(['hangup']);
    expect(call.alive).toBe(false);
  });

  it('refuses an agent call, which needs the media bridge, without asking Telnyx; conversation calls need no bridge', async () => {
    const h = await harness();
    await expect(placeCall(h, '+12125550106', { mode: 'agent' })).rejects.toMatchObject({ code: 'unsupported_mode', message: expect.stringContaining('use mode "notify"') });
    expect(h.emulator.requests).toEqual([]);
    expect(h.provider.supportedModes).toEqual(['notify', 'conversation']);
  });

  it('hangup() of a call that already ended does nothing and says the call is gone', async () => {
    const h = await harness();
    h.emulator.scriptCall('+12125550107', 'busy');
    const { callId, call } = await placeCall(h, '+12125550107');
    await finished(h, callId);
    await expect(h.provider.hangup(call.id)).resolves.toBe('gone');
    expect(call.commands).toEqual([]);
  });
});

describe('telnyx adapter: call status, asked over REST when webhooks may have been missed', () => {
  it('a live call comes back with nothing to add', async () => {
    const h = await harness();
    h.emulator.scriptCall('+12125550141', 'manual');
    const { callId, call } = await placeCall(h, '+12125550141');

    expect(await h.provider.callState({ providerCallId: call.id, callId, attempt: 1 })).toEqual([]);
    expect(h.emulator.requestCount('GET', `/v2/calls/${call.id}`)).toBe(1);
  });

  it('a call that talked comes back as its answer, dated from its length, then its end: completed', async () => {
    const h = await harness();
    const { callId, call } = await placeCall(h, '+12125550142');
    await finished(h, callId);

    const state = await h.provider.callState({ providerCallId: call.id, callId, attempt: 1 });
    expect(state).toMatchObject([
      { type: 'call.answered', callId, attempt: 1 },
      { type: 'call.ended', status: 'completed', callId, attempt: 1, at: new Date(call.endedAt!).toISOString() },
    ]);
    const [answered, end] = (state as { at: string }[]).map((e) => Date.parse(e.at));
    expect(end - answered).toBe(1000); // the emulator's talk time, rounded up to a second as Telnyx counts it
  });

  it('a machine our client_state marked ends as a voicemail', async () => {
    const h = await harness();
    h.emulator.scriptCall('+12125550143', 'machine');
    const { callId, call } = await placeCall(h, '+12125550143', { amd: 'voicemail', voicemailMessage: 'Call us back.' });
    await finished(h, callId);

    expect(await h.provider.callState({ providerCallId: call.id, callId, attempt: 1 })).toMatchObject([{ type: 'call.answered' }, { type: 'call.ended', status: 'voicemail' }]);
  });

  it('a call that never talked ended unanswered for a reason Telnyx no longer gives: failed, saying so', async () => {
    const h = await harness();
    h.emulator.scriptCall('+12125550144', 'busy');
    const { callId, call } = await placeCall(h, '+12125550144');
    await finished(h, callId);

    expect(await h.provider.callState({ providerCallId: call.id, callId, attempt: 1 })).toEqual([
      { type: 'call.ended', status: 'failed', errorMessage: expect.stringMatching(/ended unanswered/), providerCallId: call.id, callId, attempt: 1, at: expect.any(String) },
    ]);
  });

  it('a call Telnyx no longer knows is unknown, and hanging it up finds it gone', async () => {
    const h = await harness();
    h.emulator.scriptCall('+12125550145', 'manual');
    const { call } = await placeCall(h, '+12125550145');
    h.emulator.forget(call);

    expect(await h.provider.callState({ providerCallId: call.id })).toBe('unknown');
    expect(await h.provider.hangup(call.id)).toBe('gone');
  });
});

describe('telnyx adapter: webhook authentication', () => {
  it.each(['forged', 'stale', 'missing'] as const)('a %s signature gets 401 and nothing is delivered', async (signing) => {
    const h = await harness();
    h.emulator.scriptCall('+12125550110', 'manual');
    const { call } = await placeCall(h, '+12125550110');
    await h.emulator.settled();
    const before = h.domain.applied.length;

    expect(await h.emulator.emitCallEvent(call, 'call.answered', {}, signing)).toBe(401);
    expect(await h.emulator.emitCallEvent(call, 'call.hangup', { hangup_cause: 'normal_clearing' }, signing)).toBe(401);
    await h.provider.stop();
    expect(h.emulator.deliveries.filter((d) => d.signing === signing).map((d) => d.status)).toEqual([401, 401]);
    expect(h.domain.applied.length).toBe(before);
    expect(h.domain.inbox.size).toBe(before);
    expect(call.commands).toEqual([]);
  });

  it.each(['raw', 'der'] as const)('verifies with a %s public key', async (key) => {
    const h = await harness({ key });
    expect(await h.emulator.inboundSms(CALLER, OUR_NUMBER, 'hi')).toBe(200);
    expect(h.domain.events).toEqual([expect.objectContaining({ type: 'sms.inbound', from: CALLER, to: OUR_NUMBER, body: 'hi' })]);
  });

  it('rejects timestamps more than 300 s away either way and bodies changed after signing', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const key = parseTelnyxPublicKey(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64')).key;
    const body = Buffer.from('{"data":{"id":"1"}}');
    const signed = (ts: number, raw = body) => ({
      rawBody: raw,
      headers: { 'telnyx-timestamp': String(ts), 'telnyx-signature-ed25519': sign(null, Buffer.concat([Buffer.from(`${ts}|`), body]), privateKey).toString('base64') },
    });
    const now = Math.floor(Date.now() / 1000);
    expect(await verifyTelnyxSignature(key, signed(now))).toEqual({ ok: true });
    expect(await verifyTelnyxSignature(key, signed(now - 290))).toEqual({ ok: true });
    expect((await verifyTelnyxSignature(key, signed(now - 301))).ok).toBe(false);
    expect((await verifyTelnyxSignature(key, signed(now + 301))).ok).toBe(false);
    expect((await verifyTelnyxSignature(key, signed(now, Buffer.from('{"data":{"id":"2"}}')))).ok).toBe(false);
  });

  it('fails closed without a public key, and skipping verification is said loudly once', async () => {
    const h = await harness();
    expect(() => createTelnyxProvider(new FakeDomain({ ...h.domain.config, TELNYX_PUBLIC_KEY: undefined }))).toThrow(/TELNYX_PUBLIC_KEY/);
    expect(() => createTelnyxProvider(new FakeDomain({ ...h.domain.config, TELNYX_PUBLIC_KEY: Buffer.alloc(20).toString('base64') }))).toThrow(/TELNYX_PUBLIC_KEY/);

    const insecure = await harness({ env: { SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY: 'true' } });
    expect(insecure.domain.logs.filter((l) => l.msg.includes('SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY'))).toHaveLength(1);
    insecure.emulator.scriptCall('+12125550111', 'manual');
    const { call } = await placeCall(insecure, '+12125550111');
    await insecure.emulator.settled();
    expect(await insecure.emulator.emitCallEvent(call, 'call.hangup', { hangup_cause: 'user_busy' }, 'missing')).toBe(200);
  });
});

describe('telnyx adapter: idempotency and ordering', () => {
  it('a duplicate delivery is answered 200, applied once and sends no second command', async () => {
    const h = await harness();
    const { callId, call } = await placeCall(h, '+12125550120');
    await finished(h, callId);
    const answeredId = h.emulator.eventId(call, 'call.answered');
    const speakEndedId = h.emulator.eventId(call, 'call.speak.ended');

    expect(await h.emulator.redeliver(answeredId)).toBe(200);
    expect(await h.emulator.redeliver(speakEndedId)).toBe(200);
    await h.provider.stop();
    expect(h.domain.duplicates).toEqual([answeredId, speakEndedId]);
    expect(typesFor(h, callId)).toEqual(['call.ringing', 'call.answered', 'call.transcript', 'call.ended']);
    expect(h.emulator.requestCount('POST', '/actions/speak')).toBe(1);
    expect(h.emulator.requestCount('POST', '/actions/hangup')).toBe(1);
  });

  it('out-of-order events are delivered as they come, and a late answer on an ended call speaks nothing', async () => {
    const h = await harness();
    h.emulator.scriptCall('+12125550121', 'manual');
    const { callId, call } = await placeCall(h, '+12125550121');
    await h.emulator.settled();
    expect(await h.emulator.emitCallEvent(call, 'call.hangup', { hangup_cause: 'normal_clearing', sip_hangup_cause: '200' })).toBe(200);
    expect(await h.emulator.emitCallEvent(call, 'call.answered')).toBe(200);
    await h.emulator.settled();
    await h.provider.stop();
    expect(typesFor(h, callId)).toEqual(['call.ringing', 'call.ended', 'call.answered']);
    expect(h.domain.ended(callId)).toMatchObject({ status: 'completed' });
    expect(h.emulator.requestCount('POST', '/actions/speak')).toBe(0);
  });
});

describe('telnyx adapter: inbound calls', () => {
  it('asks the domain before answering, then answers, greets and hangs up after the greeting', async () => {
    const h = await harness();
    h.domain.policy = () => ({ accept: true, greeting: GREETING });
    const call = h.emulator.inboundCall(CALLER, OUR_NUMBER);
    await until(() => h.domain.events.some((e) => e.type === 'call.ended'), 'the inbound call to end');
    await h.emulator.settled();
    await h.provider.stop();

    expect(h.domain.inboundAsked).toEqual([{ from: CALLER, to: OUR_NUMBER }]);
    expect(h.domain.events.map((e) => e.type)).toEqual(['call.inbound', 'call.answered', 'call.transcript', 'call.ended']);
    expect(h.domain.events[0]).toMatchObject({ providerCallId: call.id, from: CALLER, to: OUR_NUMBER });
    expect(h.domain.events[2]).toMatchObject({ speaker: 'agent', text: GREETING });
    expect(h.domain.events[3]).toMatchObject({ status: 'completed', providerCallId: call.id });
    expect(call.spoken).toEqual([GREETING]);
    expect(call.timeline).toEqual([
      'hook:call.initiated',
      'cmd:answer',
      'hook:call.answered',
      'cmd:speak',
      'hook:call.speak.started',
      'hook:call.speak.ended',
      'cmd:hangup',
      'hook:call.hangup',
    ]);
  });

  it.each(['anonymous', '+anonymous', CALLER])('rejects a refused caller (%s) without ever answering', async (from) => {
    const h = await harness();
    h.domain.policy = () => ({ accept: false, reason: 'not on the allowlist' });
    const call = h.emulator.inboundCall(from, OUR_NUMBER);
    await until(() => !call.alive && call.timeline.includes('hook:call.hangup'), 'the rejected call to hang up');
    await h.emulator.settled();
    await h.provider.stop();

    expect(h.domain.inboundAsked).toEqual([{ from: from === CALLER ? CALLER : null, to: OUR_NUMBER }]);
    expect(call.commands.map((c) => c.verb)).toEqual(['reject']);
    expect(call.commands[0].body).toMatchObject({ cause: 'CALL_REJECTED' });
    expect(call.answered).toBe(false);
    expect(h.domain.events.some((e) => e.type === 'call.inbound' || e.type === 'call.answered')).toBe(false);
  });
});

describe('telnyx adapter: SMS', () => {
  it('sends through messages.send and maps message.sent and message.finalized (delivered)', async () => {
    const h = await harness();
    const { providerMessageId } = await h.provider.sendSms({ messageId: 'sms_1', to: '+12125550130', from: OUR_NUMBER, body: 'See you at 7.', idempotencyKey: 'sms_1' });
    await until(() => h.domain.events.some((e) => e.type === 'sms.delivered'), 'the text to be delivered');
    expect(h.emulator.messages[0].body).toMatchObject({
      to: '+12125550130',
      from: OUR_NUMBER,
      text: 'See you at 7.',
      messaging_profile_id: h.domain.config.TELNYX_MESSAGING_PROFILE_ID,
      webhook_url: `${h.sidecar.url}/webhooks/telnyx`,
    });
    expect(h.domain.events).toEqual([
      expect.objectContaining({ type: 'sms.sent', providerMessageId }),
      expect.objectContaining({ type: 'sms.delivered', providerMessageId }),
    ]);
  });

  it('maps a failed delivery with the carrier error code', async () => {
    const h = await harness();
    h.emulator.scriptSms('+12125550131', 'undeliverable');
    const { providerMessageId } = await h.provider.sendSms({ messageId: 'sms_2', to: '+12125550131', from: OUR_NUMBER, body: 'x', idempotencyKey: 'sms_2' });
    const failed = await until(() => h.domain.events.find((e) => e.type === 'sms.failed'), 'the text to fail');
    expect(failed).toMatchObject({ providerMessageId, errorCode: '40002', errorMessage: 'The message was blocked by the carrier.' });
  });

  it('maps an inbound message', async () => {
    const h = await harness();
    expect(await h.emulator.inboundSms(CALLER, OUR_NUMBER, 'STOP')).toBe(200);
    expect(h.domain.events).toEqual([expect.objectContaining({ type: 'sms.inbound', from: CALLER, to: OUR_NUMBER, body: 'STOP' })]);
  });
});

describe('telnyx adapter: carrier errors and retries', () => {
  it('retries a dial that got a 500 with the same command_id, and Telnyx places one call', async () => {
    const h = await harness();
    h.emulator.scriptCall('+12125550140', 'fail_once');
    const { callId } = await placeCall(h, '+12125550140');
    await finished(h, callId);
    const dials = h.emulator.requests.filter((r) => r.path === '/v2/calls');
    expect(dials.map((r) => r.status)).toEqual([500, 200]);
    expect(new Set(dials.map((r) => r.body.command_id))).toEqual(new Set([`${callId}-attempt-1`]));
    expect(h.emulator.calls.size).toBe(1);
    expect(h.domain.ended(callId)).toMatchObject({ status: 'completed' });
  });

  it('retries a dial whose answer timed out, and the shared command_id keeps it to one call', async () => {
    const h = await harness({ timeoutMs: 300 });
    h.emulator.scriptCall('+12125550144', 'slow_once');
    const { callId, call } = await placeCall(h, '+12125550144');
    await finished(h, callId);
    expect(h.emulator.requests.filter((r) => r.path === '/v2/calls').map((r) => r.body.command_id)).toEqual([`${callId}-attempt-1`, `${callId}-attempt-1`]);
    expect(h.emulator.calls.size).toBe(1);
    expect(call.spoken).toEqual(['Your table for two is ready.']);
  });

  it('a repeated dial with the same command_id is deduped by Telnyx', async () => {
    const h = await harness();
    h.emulator.scriptCall('+12125550141', 'manual');
    const first = await placeCall(h, '+12125550141', { idempotencyKey: 'same-key' });
    const again = await h.provider.placeCall({ callId: first.callId, attempt: 1, to: '+12125550141', from: OUR_NUMBER, mode: 'notify', message: 'x', amd: 'off', ringTimeoutSeconds: 25, maxDurationSeconds: 120, idempotencyKey: 'same-key' });
    expect(again.providerCallId).toBe(first.call.id);
    expect(h.emulator.calls.size).toBe(1);
  });

  it('never retries an SMS send and surfaces the carrier code', async () => {
    const h = await harness();
    h.emulator.scriptSms('+12125550142', 'fail');
    const err = await h.provider.sendSms({ messageId: 'sms_3', to: '+12125550142', from: OUR_NUMBER, body: 'x', idempotencyKey: 'sms_3' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CarrierError);
    expect(err).toMatchObject({ code: '40001', retryable: false });
    expect(h.emulator.requestCount('POST', '/v2/messages')).toBe(1);
  });

  it('a refused dial is a non-retryable CarrierError with Telnyx code and detail', async () => {
    const h = await harness({ env: { TELNYX_CONNECTION_ID: 'not-the-app' } });
    const err = await placeCall(h, '+12125550143').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '10015', retryable: false });
    expect((err as Error).message).toMatch(/connection_id/);
    expect(h.emulator.requestCount('POST', '/v2/calls')).toBe(1);
  });
});

describe('telnyx doctor', () => {
  const base = (over: Partial<Config> = {}): Config =>
    ({
      ...loadConfig({ SWITCHBOARD_DATA_DIR: join(tmpdir(), 'switchboard-telnyx-doctor-none') }),
      TELNYX_API_KEY: 'KEY0123456789ABCDEF0123456789_abcdefGHIJ',
      TELNYX_CONNECTION_ID: '1494404757140276705',
      TELNYX_PUBLIC_KEY: generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64'),
      TELNYX_MESSAGING_PROFILE_ID: '40017f8e-49bd-4f16-9e3d-ef103f916228',
      SWITCHBOARD_FROM_NUMBER: OUR_NUMBER,
      SWITCHBOARD_PUBLIC_URL: 'https://switchboard.example.com',
      ...over,
    }) as Config;
  const statusOf = (checks: ReturnType<typeof telnyxDoctor>, label: string) => checks.find((c) => c.label === label)?.status;

  it('passes a complete setup and gives the exact webhook URL to paste', () => {
    const checks = telnyxDoctor(base());
    expect(checks.filter((c) => c.status === 'fail' || c.status === 'warn')).toEqual([]);
    expect(checks.find((c) => c.label === 'Telnyx webhook URL')?.detail).toContain('https://switchboard.example.com/webhooks/telnyx');
    expect(checks.some((c) => c.status === 'skip')).toBe(true);
    expect(JSON.stringify(checks)).not.toContain('KEY0123456789ABCDEF0123456789_abcdefGHIJ');
  });

  it('says what is missing and where to find it, then what is wrong with what is set', () => {
    const env = { SWITCHBOARD_DATA_DIR: join(tmpdir(), 'switchboard-telnyx-doctor-none'), SWITCHBOARD_PROVIDER: 'telnyx', TELNYX_API_KEY: 'token-v1-abcdef' };
    expect(diagnose(env)).toEqual([
      { status: 'fail', label: 'config', detail: expect.stringMatching(/^TELNYX_CONNECTION_ID: .*Portal → Voice → Programmable Voice/) },
      { status: 'fail', label: 'config', detail: expect.stringMatching(/^TELNYX_PUBLIC_KEY: .*Keys & Credentials → Public Key/) },
      { status: 'fail', label: 'config', detail: expect.stringMatching(/^SWITCHBOARD_PUBLIC_URL: .*https tunnel/) },
      { status: 'fail', label: 'config', detail: expect.stringMatching(/^SWITCHBOARD_FROM_NUMBER: .*caller id/) },
    ]);

    const checks = telnyxDoctor(
      base({ TELNYX_API_KEY: 'token-v1-abcdef', TELNYX_PUBLIC_KEY: 'bm90IGEga2V5IGF0IGFsbCwganVzdCB0ZXh0', TELNYX_MESSAGING_PROFILE_ID: undefined, SWITCHBOARD_PUBLIC_URL: 'http://localhost:3340' }),
    );
    expect(statusOf(checks, 'Telnyx API key')).toBe('warn');
    expect(statusOf(checks, 'Telnyx webhook public key')).toBe('fail');
    expect(statusOf(checks, 'Telnyx messaging profile')).toBe('warn');
    expect(statusOf(checks, 'Public URL')).toBe('fail');
    expect(statusOf(telnyxDoctor(base({ TELNYX_PUBLIC_KEY: generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).toString('base64') })), 'Telnyx webhook public key')).toBe('ok');
  });
});
