import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { AI_DISCLOSURE, INBOUND_DISCLOSURE } from '../src/voice/disclosure.js';
import { APOLOGY } from '../src/voice/voice-call.js';
import type { MediaCallee, MediaCalleeOptions } from './fakes/media-callee.js';
import type { MediaStream } from './fakes/media-stream.js';
import { FakeRealtimeModel } from './fakes/realtime-model.js';
import { TelnyxEmulator } from './fakes/telnyx-emulator.js';
import { TwilioEmulator } from './fakes/twilio-emulator.js';
import { freePort, startHarness, tempDir, until, type Harness } from './helpers.js';

/**
 * Live voice end to end: an MCP client places an agent call; the carrier emulator streams the call's audio over a
 * real media WebSocket, with a simulated person (or IVR) on the line, in real time; Switchboard bridges it to a fake
 * OpenAI Realtime model speaking the GA protocol. Speech is text coded into μ-law (fakes/speech-code.ts), passed
 * through Switchboard untouched. Every scenario runs on both carriers.
 */

const ACCOUNT_SID = `AC${'ef'.repeat(16)}`;
const AUTH_TOKEN = '0123456789abcdef0123456789abcdef';
const OUR_NUMBER = '+12125550100';
const ROOFER = '+12125550123';
const CALLER = '+12125550177';

const ROOF_CALL = {
  mode: 'agent',
  message: 'I am calling about a quote for a roof repair.',
  instructions: 'Get a price quote and a start date for a roof repair.',
  insight_schema: { type: 'object', properties: { price_quote: { type: 'string' }, start_date: { type: 'string' } } },
};
const FACTS = { price_quote: '450 dollars a square', start_date: 'next Monday' };

/** One carrier, emulated: how to start it, where its person lives, and what it recorded of a call. */
type Network = {
  /** Switchboard's settings for this carrier (listener on `port`). */
  env(port: number): Record<string, string>;
  /** The person (or IVR) who answers `number`. */
  person(number: string, options: MediaCalleeOptions): void;
  /** What the network holds for the call placed to (or from) `number`. */
  call(number: string): { streams: MediaStream[]; callee?: MediaCallee; spoken: string[] } | undefined;
  /** Someone calls our number. */
  ring(from: string): Promise<void>;
  close(): Promise<void>;
};

async function twilioNetwork(): Promise<Network> {
  const people: Record<string, { media: MediaCalleeOptions }> = {};
  const twilio = await new TwilioEmulator(ACCOUNT_SID, AUTH_TOKEN, people).start();
  const find = (number: string) => [...twilio.calls.values()].reverse().find((c) => c.to === number || c.from === number);
  return {
    env(port) {
      const publicUrl = `http://127.0.0.1:${port}`;
      twilio.numberWebhooks = { voiceUrl: `${publicUrl}/webhooks/twilio/voice`, smsUrl: `${publicUrl}/webhooks/twilio/sms`, statusCallback: `${publicUrl}/webhooks/twilio/status` };
      return {
        SWITCHBOARD_PROVIDER: 'twilio',
        SWITCHBOARD_HTTP_PORT: String(port),
        SWITCHBOARD_PUBLIC_URL: publicUrl,
        SWITCHBOARD_TWILIO_API_URL: twilio.url,
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        SWITCHBOARD_FROM_NUMBER: OUR_NUMBER,
      };
    },
    person: (number, media) => void (people[number] = { media }),
    call(number) {
      const c = find(number);
      return c && { streams: c.streams, callee: c.callee, spoken: c.said };
    },
    ring: async (from) => void (await twilio.inboundCall(from, OUR_NUMBER)),
    close: () => twilio.close(),
  };
}

async function telnyxNetwork(): Promise<Network> {
  const telnyx = await TelnyxEmulator.start({ speakMs: 20 });
  return {
    env: (port) => telnyx.switchboardEnv(port, OUR_NUMBER),
    person: (number, media) => telnyx.scriptMedia(number, media),
    call: (number) => [...telnyx.calls.values()].reverse().find((c) => c.to === number || c.from === number),
    ring: async (from) => void telnyx.inboundCall(from, OUR_NUMBER),
    close: () => telnyx.close(),
  };
}

type Line = { h: Harness; net: Network; model: FakeRealtimeModel; url: string };
const open: Line[] = [];

afterEach(async () => {
  for (const line of open.splice(0)) {
    await line.h.close();
    await line.net.close();
    await line.model.close();
  }
});

async function liveVoice(network: () => Promise<Network>, extraEnv: Record<string, string> = {}): Promise<Line> {
  const model = await FakeRealtimeModel.start();
  const net = await network();
  const port = await freePort();
  const env = {
    SWITCHBOARD_DATA_DIR: tempDir(),
    ...net.env(port),
    SWITCHBOARD_VOICE: 'openai',
    OPENAI_API_KEY: model.apiKey,
    SWITCHBOARD_OPENAI_REALTIME_URL: model.url,
    ...extraEnv,
  };
  const line: Line = { h: await startHarness(env, { listen: true }), net, model, url: `ws://127.0.0.1:${port}` };
  open.push(line);
  return line;
}

async function finished(h: Harness, callId: string, seconds = 25) {
  const waited = await h.call('wait_for_calls', { call_ids: [callId], timeout_seconds: seconds });
  expect(waited).toMatchObject({ done: true, timed_out: false });
  return h.call('get_call', { call_id: callId });
}

/** Opens a media socket as a carrier would and reports how the bridge treated it. */
function tryStream(url: string, token: string, carrier: 'twilio' | 'telnyx'): Promise<{ code: number; frames: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/media/${carrier}`, carrier === 'telnyx' ? { headers: { authorization: `Bearer ${token}` } } : {});
    let frames = 0;
    ws.on('message', () => frames++);
    ws.on('open', () => {
      const silence = Buffer.alloc(160, 0xff).toString('base64');
      if (carrier === 'twilio') {
        ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
        ws.send(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid: 'MZforged', start: { streamSid: 'MZforged', callSid: 'CAforged', customParameters: { token } } }));
        ws.send(JSON.stringify({ event: 'media', sequenceNumber: '2', media: { track: 'inbound', chunk: '1', timestamp: '0', payload: silence }, streamSid: 'MZforged' }));
      } else {
        ws.send(JSON.stringify({ event: 'connected', version: '1.0.0' }));
        ws.send(JSON.stringify({ event: 'start', sequence_number: '1', stream_id: 'forged', start: { call_control_id: 'v3:forged', media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 } } }));
        ws.send(JSON.stringify({ event: 'media', sequence_number: '2', stream_id: 'forged', media: { track: 'inbound', chunk: '1', timestamp: '0', payload: silence } }));
      }
    });
    ws.on('close', (code) => resolve({ code, frames }));
    ws.on('error', reject);
  });
}

export const NETWORKS = { twilio: twilioNetwork, telnyx: telnyxNetwork };

/** Every live voice scenario on one carrier (one test file per carrier, so the two run side by side). */
export function liveVoiceSuite(carrier: 'twilio' | 'telnyx'): void {
  const network = NETWORKS[carrier];
  describe(`live voice on ${carrier}`, () => {
  it('an agent call gets past an IVR with send_dtmf, collects the fields, reports them and hangs up after its goodbye played', async () => {
    const line = await liveVoice(network);
    line.net.person(ROOFER, { ivr: { prompt: 'Thanks for calling Ace Roofing. For a person, press 2.', digit: '2' }, greeting: 'Hello, Ace Roofing.', facts: FACTS });
    const placed = await line.h.call('initiate_call', { to: ROOFER, ...ROOF_CALL });
    const call = await finished(line.h, placed.call_id);

    expect(call).toMatchObject({ status: 'completed', outcome: 'completed', fields: FACTS });
    expect((await line.h.call('get_insights', { call_id: placed.call_id })).source).toBe('agent_report');
    // The carrier said the disclosure before the model said anything.
    const turns = call.transcript.map((t: { speaker: string; text: string }) => `${t.speaker}: ${t.text}`);
    expect(turns[0]).toBe(`agent: ${AI_DISCLOSURE}`);
    expect(turns).toContain('agent: (pressed 2)');
    expect(turns).toContain(`callee: ${FACTS.price_quote}`);
    expect(turns).toContain(`callee: ${FACTS.start_date}`);
    expect(turns.at(-1)).toBe('agent: Thank you, goodbye.');
    expect(call.latency.turns).toBeGreaterThanOrEqual(2);
    expect(call.latency.first_frame_ms.p50).toBeGreaterThanOrEqual(call.latency.model_ms.p50);

    const far = line.net.call(ROOFER)!;
    // The IVR heard the key (in-band tones on Twilio, send_dtmf on Telnyx), and the person heard the goodbye whole.
    expect(far.callee!.digits).toBe('2');
    const goodbye = far.callee!.heard.at(-1)!;
    expect(goodbye).toMatchObject({ text: 'Thank you, goodbye.', cut: false });
    expect(far.streams[0]!.violations).toEqual([]);
    expect(far.streams[0]!.endedBy).toBe('hangup');

    // GA session, μ-law both ways, the model's tools as SPEC names them.
    const session = line.model.sessions[0]!;
    expect(session.headers['openai-beta']).toBeUndefined();
    expect(session.sessionUpdates[0]).toMatchObject({ type: 'realtime', audio: { input: { format: { type: 'audio/pcmu' } }, output: { format: { type: 'audio/pcmu' } } } });
    expect((session.sessionUpdates[0]!.tools as { name: string }[]).map((t) => t.name)).toEqual(['report_call', 'send_dtmf', 'end_call']);
    expect(session.appended.bytes).toBeGreaterThan(8000);
    expect(session.closed).toBe(true);
  });

  it('barge-in clears the carrier and cuts the agent at what the callee heard', async () => {
    const line = await liveVoice(network);
    const opening = 'I am calling about a quote for a roof repair on a three storey house with a slate roof and two chimneys.';
    // The person says nothing until 800 ms into the agent's opening line, then talks over it.
    line.net.person(ROOFER, { bargeIn: { afterAgentMs: 800, say: 'Sorry, who is calling?' } });
    const placed = await line.h.call('initiate_call', { to: ROOFER, ...ROOF_CALL, message: opening });

    const session = await line.model.waitFor(() => line.model.sessions[0]?.truncates[0] && line.model.sessions[0], 20_000);
    const far = line.net.call(ROOFER)!;
    const cut = far.callee!.heard.find((u) => u.cut)!;
    expect(far.callee!.clears).toBeGreaterThanOrEqual(1);
    const truncate = session.truncates[0]!;
    expect(truncate.ok).toBe(true);
    // Cut where the carrier confirmed playback: within one mark interval (100 ms) and a frame of what was heard.
    expect(truncate.audioEndMs).toBeLessThanOrEqual(cut.playedMs + 40);
    expect(truncate.audioEndMs).toBeGreaterThanOrEqual(cut.playedMs - 140);

    const call = await until(async () => {
      const c = await line.h.call('get_call', { call_id: placed.call_id });
      const texts = c.transcript.map((t: { text: string }) => t.text);
      return texts.some((t: string) => t.endsWith('…')) && texts.includes('Sorry, who is calling?') && c;
    }, 'the cut-off turn and the interruption in the transcript');
    const stored = call.transcript.find((t: { text: string }) => t.text.endsWith('…'))!.text.slice(0, -1);
    const said = session.said.find((s) => s.truncatedMs !== undefined)!;
    expect(said.full.startsWith(stored)).toBe(true);
    expect(stored.length).toBeLessThan(said.full.length);
    await line.h.call('end_call', { call_id: placed.call_id });
  });

  it('refuses a media socket with a forged token, a used one, or one for a call that ended, before any audio flows', async () => {
    const line = await liveVoice(network);
    line.net.person(ROOFER, { greeting: 'Hello?', facts: FACTS });
    const forged = await tryStream(line.url, 'not-a-token', carrier);
    expect(forged).toEqual({ code: 1008, frames: 0 });

    const placed = await line.h.call('initiate_call', { to: ROOFER, ...ROOF_CALL });
    const token = await until(() => line.net.call(ROOFER)?.streams[0]?.parameters.token, 'the call to stream');
    expect(await tryStream(line.url, token, carrier)).toEqual({ code: 1008, frames: 0 });
    await finished(line.h, placed.call_id);
    expect(await tryStream(line.url, token, carrier)).toEqual({ code: 1008, frames: 0 });
    expect(line.model.sessions).toHaveLength(1);
  });

  it.each([
    ['refuses the session (rate limited)', (m: FakeRealtimeModel): void => void (m.refuse = 429), 'rate_limited', /refused the connection \(HTTP 429\)/],
    ['sends a fatal error event', (m: FakeRealtimeModel): void => void (m.failAfter = { afterResponses: 1, how: 'error' }), 'server_error', /reported an error/],
  ] as const)('a model that %s ends the call failed with the reason, after an apology', async (_, breakModel, code, message) => {
    const line = await liveVoice(network);
    breakModel(line.model);
    line.net.person(ROOFER, { facts: FACTS });
    const placed = await line.h.call('initiate_call', { to: ROOFER, ...ROOF_CALL });
    const call = await finished(line.h, placed.call_id);
    expect(call).toMatchObject({ status: 'failed', error: { code } });
    expect(call.error.message).toMatch(message);
    await until(() => line.net.call(ROOFER)?.spoken.includes(APOLOGY), 'the apology');
  });

  it('a model that dies mid-call ends the call with the reason, after an apology, and the retry policy dials again', async () => {
    const line = await liveVoice(network);
    line.model.failAfter = { afterResponses: 1, how: 'close' };
    line.net.person(ROOFER, { greeting: 'Hello?', facts: FACTS });
    const placed = await line.h.call('initiate_call', { to: ROOFER, ...ROOF_CALL, retry: { max_attempts: 2, interval_seconds: 1, on: ['failed'] } });

    const first = await until(async () => {
      const c = await line.h.call('get_call', { call_id: placed.call_id });
      return c.attempts[0]?.status === 'failed' && c;
    }, 'the first attempt to fail', 20_000);
    expect(first.attempts[0]).toMatchObject({ hangup_cause: 'voice_agent_failed', error_code: 'voice_model_unavailable' });
    expect(first.attempts[0].error_message).toMatch(/realtime API closed the session \(1011/);
    await until(() => line.net.call(ROOFER)?.spoken.includes(APOLOGY), 'the apology');

    const call = await finished(line.h, placed.call_id);
    expect(call.attempts).toHaveLength(2);
    expect(call).toMatchObject({ status: 'failed', error: { code: 'voice_model_unavailable' } });
  });

  it('a turn ends even when the carrier stops sending audio after the callee speaks (silence suppression)', async () => {
    const line = await liveVoice(network);
    // After answering, the line sends nothing for 20 s: only silence Switchboard pads in can end the turn.
    line.net.person(ROOFER, { facts: FACTS, silentGapMs: 20_000 });
    const placed = await line.h.call('initiate_call', { to: ROOFER, ...ROOF_CALL, insight_schema: { type: 'object', properties: { price_quote: { type: 'string' } } } });
    const call = await finished(line.h, placed.call_id, 15);
    expect(call).toMatchObject({ status: 'completed', fields: { price_quote: FACTS.price_quote } });
  });

  it('an inbound call with the agent handler is answered with the disclosure, then the live agent', async () => {
    const line = await liveVoice(network, { SWITCHBOARD_INBOUND_POLICY: 'open', SWITCHBOARD_INBOUND_HANDLER: 'agent', SWITCHBOARD_INBOUND_GREETING: 'How can I help you?' });
    // The caller waits for the agent's greeting to end before speaking.
    line.net.person(CALLER, { greeting: 'I would like to book a table for two.', answerDelayMs: 2500 });
    await line.net.ring(CALLER);
    const inbound = await until(async () => (await line.h.call('list_calls', {})).calls.find((c: { direction: string }) => c.direction === 'inbound'), 'the inbound call');
    expect(inbound.mode).toBe('agent');
    // A key the caller presses reaches the model as a user item, and the transcript.
    const callee = await until(() => (line.net.call(CALLER)?.callee?.heard.length ? line.net.call(CALLER)?.callee : undefined), 'the caller to hear the greeting');
    callee.press('5');
    const call = await finished(line.h, inbound.call_id);
    const turns = call.transcript.map((t: { speaker: string; text: string }) => `${t.speaker}: ${t.text}`);
    expect(turns[0]).toBe(`agent: ${INBOUND_DISCLOSURE}`);
    expect(turns[1]).toBe('agent: How can I help you?');
    expect(turns).toContain('callee: I would like to book a table for two.');
    expect(turns).toContain('callee: (pressed 5)');
    expect(JSON.stringify(line.model.sessions[0]!.clientEvents)).toContain('The callee pressed the key 5.');
    expect(turns.at(-1)).toBe('agent: Thank you, goodbye.');
  });
});
}
