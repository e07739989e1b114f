import type { IncomingMessage, Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import twilio from 'twilio';
import { describe, it, type TestContext } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { DtmfDetector, type MediaCallee, type MediaCalleeOptions } from './fakes/media-callee.js';
import { decodeSpeech, encodeSpeech, isSpeech, silence } from './fakes/speech-code.js';
import { TelnyxEmulator } from './fakes/telnyx-emulator.js';
import { TwilioEmulator, type EmulatedCall as TwilioCall } from './fakes/twilio-emulator.js';
import { until } from './helpers.js';

/**
 * The carrier side of live voice, offline: the Twilio and Telnyx emulators open real media-stream WebSockets to a tiny
 * stand-in for Switchboard's bridge (a `ws` server in this file) and put a simulated person on the line, who hears in
 * real time and talks back. These tests pin the emulators' frames and timing so the bridge can be tested against them.
 *
 * Tests run concurrently (each has its own emulator and app) to keep the file to a few seconds: timings are real.
 */

const ACCOUNT_SID = `AC${'ef'.repeat(16)}`;
const AUTH_TOKEN = '00112233445566778899aabbccddeeff';
const OUR_NUMBER = '+12125550100';
const PERSON = '+12125550111';
const TOKEN = 'stream-token-3f9a';
const DISCLOSURE = 'This call is from an AI assistant.';
const XML = '<?xml version="1.0" encoding="UTF-8"?>';
const SILENT_FRAME = Buffer.alloc(160, 0xff).toString('base64');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the app's side: webhooks and media sockets ----

type Received = { at: number; message: any };

/** One carrier media socket as the app sees it: what arrived (and when), and a way to answer. */
class CarrierSocket {
  readonly received: Received[] = [];
  readonly closed: Promise<{ code: number; at: number }>;

  constructor(
    readonly ws: WebSocket,
    readonly request: IncomingMessage,
  ) {
    ws.on('message', (data) => this.received.push({ at: performance.now(), message: JSON.parse(String(data)) }));
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve({ code, at: performance.now() })));
  }

  events(): string[] {
    return this.received.map((r) => r.message.event);
  }

  /** Inbound-track media messages, in arrival order. */
  media(): Received[] {
    return this.received.filter((r) => r.message.event === 'media' && r.message.media.track === 'inbound');
  }

  /** What the person said, decoded from every inbound frame so far. */
  personSaid(): string[] {
    return decodeSpeech(Buffer.concat(this.media().map((r) => Buffer.from(r.message.media.payload, 'base64'))));
  }

  /** The first inbound frame carrying speech that arrived after `since`. */
  firstSpeechAfter(since: number): Received | undefined {
    return this.media().find((r) => r.at > since && isSpeech(Buffer.from(r.message.media.payload, 'base64')));
  }

  /** The first message matching `match`, waiting for it if need be. */
  next(match: (message: any) => boolean, what = 'a message'): Promise<Received> {
    return until(() => this.received.find((r) => match(r.message)), what, 3000);
  }

  send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }
}

/** A stand-in for Switchboard: answers webhooks (the voice URL with `twiml`) and accepts media sockets. */
class FakeApp {
  readonly webhooks: { path: string; body: string }[] = [];
  readonly sockets: CarrierSocket[] = [];
  /** What the Twilio voice URL answers. */
  twiml = `${XML}<Response/>`;
  /** Set: media socket upgrades are refused with this HTTP status (a bad token). */
  refuseUpgrades?: number;
  private readonly wss: WebSocketServer;

  private constructor(private readonly server: Server) {
    const verifyClient = (_: unknown, done: (ok: boolean, status?: number) => void) => done(!this.refuseUpgrades, this.refuseUpgrades);
    this.wss = new WebSocketServer({ server, verifyClient });
    this.wss.on('connection', (ws, request) => this.sockets.push(new CarrierSocket(ws, request)));
  }

  static async start(ctx: TestContext): Promise<FakeApp> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        app.webhooks.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
        if (req.url === '/voice') res.writeHead(200, { 'content-type': 'text/xml' }).end(app.twiml);
        else res.writeHead(200).end();
      });
    });
    const app = new FakeApp(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ctx.onTestFinished(() => app.close());
    return app;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  wsUrl(path: string): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  /** The `n`th media socket a carrier opened (0: the first). */
  socket(n = 0): Promise<CarrierSocket> {
    return until(() => this.sockets[n], `media socket #${n}`, 3000);
  }

  /** Telnyx event types posted so far, in order. */
  telnyxEvents(): string[] {
    return this.webhooks.filter((w) => w.path === '/telnyx').map((w) => JSON.parse(w.body).data.event_type);
  }

  /** Twilio status callbacks' CallStatus, in order. */
  twilioStatuses(): string[] {
    return this.webhooks.filter((w) => w.path === '/status').map((w) => new URLSearchParams(w.body).get('CallStatus')!);
  }

  private async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise((resolve) => this.wss.close(resolve));
    await new Promise((resolve) => {
      this.server.close(resolve);
      this.server.closeAllConnections();
    });
  }
}

/** How the app talks to a carrier's stream. */
type Sender = { media(bytes: Buffer): void; mark(name: string): void; clear(): void };

const twilioSender = (socket: CarrierSocket, streamSid: string): Sender => ({
  media: (bytes) => socket.send({ event: 'media', streamSid, media: { payload: bytes.toString('base64') } }),
  mark: (name) => socket.send({ event: 'mark', streamSid, mark: { name } }),
  clear: () => socket.send({ event: 'clear', streamSid }),
});

/** Telnyx wants each outbound chunk to hold 20 ms to 30 s: audio goes in 100 ms chunks, as a bridge would coalesce it. */
const telnyxSender = (socket: CarrierSocket): Sender => ({
  media: (bytes) => {
    for (let i = 0; i < bytes.length; i += 800) socket.send({ event: 'media', media: { payload: bytes.subarray(i, i + 800).toString('base64') } });
  },
  mark: (name) => socket.send({ event: 'mark', mark: { name } }),
  clear: () => socket.send({ event: 'clear' }),
});

// ---- DTMF tones, as the product will send them ----

/** 16-bit linear → G.711 μ-law (realtime-audio.md §4.1). */
function linearToMulaw(sample: number): number {
  let s = sample;
  let sign = 0;
  if (s < 0) {
    s = -s;
    sign = 0x80;
  }
  s = Math.min(s, 32635) + 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

const DTMF: Record<string, [number, number]> = {};
['123A', '456B', '789C', '*0#D'].forEach((row, r) => [...row].forEach((key, c) => (DTMF[key] = [[697, 770, 852, 941][r]!, [1209, 1336, 1477, 1633][c]!])));

/** Standard DTMF: per key `toneMs` of both tones (each at `dbfs`), then `gapMs` of silence. */
function dtmfTones(keys: string, { toneMs = 100, gapMs = 100, dbfs = -6 } = {}): Buffer {
  const amplitude = 32767 * 10 ** (dbfs / 20);
  const bytes: number[] = [];
  for (const key of keys) {
    const [low, high] = DTMF[key]!;
    for (let n = 0; n < toneMs * 8; n++) {
      const t = n / 8000;
      bytes.push(linearToMulaw(Math.round(amplitude * (Math.sin(2 * Math.PI * low * t) + Math.sin(2 * Math.PI * high * t)))));
    }
    for (let n = 0; n < gapMs * 8; n++) bytes.push(0xff);
  }
  return Buffer.from(bytes);
}

// ---- a call on each carrier, streaming to the app ----

type Line = { app: FakeApp; socket: CarrierSocket; out: Sender; callee: MediaCallee; start: any };

/**
 * A call placed with the real Twilio SDK to a person who behaves as `media` says; the app answers the voice URL
 * with a disclosure, then `<Connect><Stream>` to its media socket (and `after` once the stream is over).
 */
async function twilioLine(ctx: TestContext, media: MediaCalleeOptions = {}, after = '') {
  const app = await FakeApp.start(ctx);
  const emulator = await new TwilioEmulator(ACCOUNT_SID, AUTH_TOKEN, { [PERSON]: { media } }).start();
  ctx.onTestFinished(() => emulator.close());
  const stream = `<Connect><Stream url="${app.wsUrl('/media/twilio')}"><Parameter name="token" value="${TOKEN}"/></Stream></Connect>`;
  app.twiml = `${XML}<Response><Say>${DISCLOSURE}</Say>${stream}${after}</Response>`;
  const client = twilio(ACCOUNT_SID, AUTH_TOKEN, { autoRetry: false });
  client.api.baseUrl = emulator.url;
  const { sid } = await client.calls.create({ to: PERSON, from: OUR_NUMBER, url: `${app.url}/voice`, statusCallback: `${app.url}/status` });
  const socket = await app.socket();
  const start = (await socket.next((m) => m.event === 'start')).message;
  const call: TwilioCall = emulator.calls.get(sid)!;
  const line: Line = { app, socket, start, out: twilioSender(socket, start.streamSid), callee: call.callee! };
  return { ...line, emulator, client, sid, call, streamSid: start.streamSid as string };
}

/** Telnyx REST as Switchboard calls it. */
async function telnyxRest(telnyx: TelnyxEmulator, path: string, body: object): Promise<any> {
  const res = await fetch(`${telnyx.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${telnyx.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const CLIENT_STATE = Buffer.from('call_42').toString('base64');

/** The stream_* fields Switchboard's bridge sends (token and parameters included). */
const streamFields = (app: FakeApp) => ({
  stream_url: app.wsUrl('/media/telnyx'),
  stream_track: 'inbound_track',
  stream_codec: 'PCMU',
  stream_bidirectional_mode: 'rtp',
  stream_bidirectional_codec: 'PCMU',
  stream_auth_token: TOKEN,
  custom_parameters: [{ name: 'call_id', value: 'call_42' }],
});

/** A Telnyx call answered by a person who behaves as `media`: the app speaks the disclosure, then starts streaming. */
async function telnyxLine(ctx: TestContext, media: MediaCalleeOptions = {}) {
  const app = await FakeApp.start(ctx);
  const telnyx = await TelnyxEmulator.start({ speakMs: 20 });
  ctx.onTestFinished(() => telnyx.close());
  telnyx.scriptMedia(PERSON, media);
  const dialled = await telnyxRest(telnyx, '/calls', { to: PERSON, from: OUR_NUMBER, connection_id: telnyx.connectionId, webhook_url: `${app.url}/telnyx`, client_state: CLIENT_STATE });
  const id: string = dialled.data.call_control_id;
  await until(() => app.telnyxEvents().includes('call.answered'), 'call.answered');
  const actions = `/calls/${encodeURIComponent(id)}/actions`;
  await telnyxRest(telnyx, `${actions}/speak`, { payload: DISCLOSURE, voice: 'female' });
  await telnyxRest(telnyx, `${actions}/streaming_start`, streamFields(app));
  const socket = await app.socket();
  const start = (await socket.next((m) => m.event === 'start')).message;
  const call = telnyx.calls.get(id)!;
  const line: Line = { app, socket, start, out: telnyxSender(socket), callee: call.callee! };
  return { ...line, telnyx, id, actions, call };
}

// ---- Twilio ----

describe.concurrent('Twilio Media Streams in the emulator', () => {
  it('connects to the <Stream> url after the <Say>s and sends connected, start (with the Parameters), then a 20 ms frame every 20 ms', async (ctx) => {
    const { expect } = ctx;
    const t = await twilioLine(ctx);
    await sleep(500);

    expect(t.call.said).toEqual([DISCLOSURE]);
    expect(t.socket.request.url).toBe('/media/twilio');
    // The upgrade is signed like a webhook, over the stream URL with no params.
    expect(t.socket.request.headers['x-twilio-signature']).toBe(t.emulator.sign(t.app.wsUrl('/media/twilio'), {}));
    const [connected, start] = t.socket.received.map((r) => r.message);
    expect(connected).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(start).toEqual({
      event: 'start',
      sequenceNumber: '1',
      streamSid: expect.stringMatching(/^MZ[0-9a-f]{32}$/),
      start: {
        streamSid: t.streamSid,
        accountSid: ACCOUNT_SID,
        callSid: t.sid,
        tracks: ['inbound'],
        customParameters: { token: TOKEN },
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });

    const media = t.socket.media();
    media.forEach((r, i) =>
      expect(r.message).toEqual({
        event: 'media',
        sequenceNumber: String(i + 2),
        streamSid: t.streamSid,
        media: { track: 'inbound', chunk: String(i + 1), timestamp: String(i * 20), payload: SILENT_FRAME },
      }),
    );
    // ≈50 frames a second, on a schedule that does not drift: frame i arrives about 20·i ms after the first.
    expect(media.length).toBeGreaterThanOrEqual(22);
    expect(media.length).toBeLessThanOrEqual(27);
    for (const [i, r] of media.entries()) expect(Math.abs(r.at - media[0]!.at - i * 20)).toBeLessThan(40);
  });

  it('a REST hangup stops the stream (stop, then close) and the call completes', async (ctx) => {
    const { expect } = ctx;
    const t = await twilioLine(ctx);

    await t.client.calls(t.sid).update({ status: 'completed' });
    await t.socket.closed;
    await t.emulator.finished(t.sid);

    expect(t.socket.received.at(-1)!.message).toEqual({
      event: 'stop',
      sequenceNumber: String(t.socket.received.length - 1),
      streamSid: t.streamSid,
      stop: { accountSid: ACCOUNT_SID, callSid: t.sid },
    });
    expect(t.call.streams).toMatchObject([{ handshake: 'open', endedBy: 'hangup', violations: [] }]);
    expect(t.call.status).toBe('completed');
    expect(t.app.twilioStatuses()).toEqual(['completed']);
  });

  it('plays what the app sends at 8 bytes/ms: a mark is echoed once the audio before it has played', async (ctx) => {
    const { expect } = ctx;
    const t = await twilioLine(ctx);
    const greeting = 'Hi, this is the Ace Roofing assistant.';

    const sentAt = performance.now();
    t.out.media(encodeSpeech(greeting, 600));
    t.out.mark('greeting-done');
    const echo = await t.socket.next((m) => m.event === 'mark', 'the mark echo');

    expect(echo.message).toEqual({ event: 'mark', sequenceNumber: expect.any(String), streamSid: t.streamSid, mark: { name: 'greeting-done' } });
    expect(echo.at - sentAt).toBeGreaterThanOrEqual(595);
    expect(echo.at - sentAt).toBeLessThan(680);
    // With nothing queued, a mark comes straight back.
    const idleAt = performance.now();
    t.out.mark('idle');
    expect((await t.socket.next((m) => m.mark?.name === 'idle')).at - idleAt).toBeLessThan(30);

    expect(await t.callee.waitFor((c) => c.heard[0])).toMatchObject({ text: greeting, playedMs: 600, cut: false });
    expect(t.callee.playedMs).toBe(600);
    expect(t.callee.marksEchoed).toEqual(['greeting-done', 'idle']);
    expect(t.call.streams[0]).toMatchObject({ handshake: 'answered', fromServer: { media: 1, bytes: 4800, marks: ['greeting-done', 'idle'], clears: 0 }, violations: [] });
  });

  it('clear drops the queued audio and echoes every pending mark at once; the utterance is heard cut', async (ctx) => {
    const { expect } = ctx;
    const t = await twilioLine(ctx);
    const menu = 'Today we have the roast chicken, the lentil soup and';

    t.out.media(encodeSpeech(menu, 2000));
    t.out.mark('m1');
    t.out.media(encodeSpeech('a lemon tart for dessert.', 1000));
    t.out.mark('m2');
    await sleep(400);
    const clearedAt = performance.now();
    t.out.clear();
    const m2 = await t.socket.next((m) => m.mark?.name === 'm2');
    const m1 = await t.socket.next((m) => m.mark?.name === 'm1');

    expect(m1.at - clearedAt).toBeLessThan(30);
    expect(m2.at - clearedAt).toBeLessThan(30);
    expect(Number(m1.message.sequenceNumber)).toBe(Number(m2.message.sequenceNumber) - 1);
    const heard = await t.callee.waitFor((c) => c.heard[0]);
    expect(heard).toMatchObject({ text: menu, cut: true });
    expect(heard.playedMs).toBeGreaterThan(380);
    expect(heard.playedMs).toBeLessThan(470);
    const played = t.callee.playedMs;
    await sleep(100);
    expect(t.callee.playedMs).toBe(played); // nothing more plays
    expect(t.callee.clears).toBe(1);
  });

  it('the person greets, answers a fact asked about ~300 ms after the agent stops, and hangs up after hearing enough', async (ctx) => {
    const { expect } = ctx;
    const t = await twilioLine(ctx, { greeting: 'Hello?', facts: { price_quote: 'Forty dollars.' }, hangupAfterHeard: 2 });

    const askedAt = performance.now();
    t.out.media(encodeSpeech('Could you give me a price quote?', 500));
    const answer = await until(() => t.socket.firstSpeechAfter(askedAt + 600), 'the answer');
    t.out.media(encodeSpeech('Thank you, goodbye.', 400));
    await t.socket.closed;
    await t.emulator.finished(t.sid);

    expect(answer.at - (askedAt + 500)).toBeGreaterThan(280);
    expect(answer.at - (askedAt + 500)).toBeLessThan(400);
    expect(t.socket.personSaid()).toEqual(['Hello?', 'Forty dollars.']);
    expect(t.callee.said).toEqual(['Hello?', 'Forty dollars.']);
    expect(t.callee.heard).toMatchObject([
      { text: 'Could you give me a price quote?', cut: false, playedMs: 500 },
      { text: 'Thank you, goodbye.', cut: false, playedMs: 400 },
    ]);
    // The person hung up after finishing the answer: Twilio stops the stream and the call completes.
    expect(t.callee.hungUp).toBe(true);
    expect(t.socket.events().at(-1)).toBe('stop');
    expect(t.call.streams[0]).toMatchObject({ endedBy: 'person' });
    expect(t.app.twilioStatuses()).toEqual(['completed']);
  });

  it('barge-in: once the agent has played 500 ms the person talks over it; the clear that follows leaves it cut', async (ctx) => {
    const { expect } = ctx;
    const t = await twilioLine(ctx, { bargeIn: { afterAgentMs: 500, say: 'Sorry, who is this?' } });
    const pitch = 'We are calling about your recent roof inspection and the quote that';

    const sentAt = performance.now();
    t.out.media(encodeSpeech(pitch, 3000));
    const interruption = await until(() => t.socket.firstSpeechAfter(sentAt), 'the person to talk');
    t.out.clear();

    expect(interruption.at - sentAt).toBeGreaterThanOrEqual(500);
    expect(interruption.at - sentAt).toBeLessThan(580);
    const heard = await t.callee.waitFor((c) => c.heard[0]);
    expect(heard).toMatchObject({ text: pitch, cut: true });
    expect(heard.playedMs).toBeGreaterThanOrEqual(500);
    expect(heard.playedMs).toBeLessThan(620);
    await until(() => t.socket.personSaid().includes('Sorry, who is this?'), 'the interruption');
  });

  it('an IVR hears DTMF tones in the played audio (menu by menu), then the person comes on', async (ctx) => {
    const { expect } = ctx;
    const t = await twilioLine(ctx, {
      ivr: { prompt: 'Thanks for calling. For a person, press 2.', digit: '2', then: { prompt: 'Enter your account number, then pound.', digit: '44#' } },
      greeting: 'Billing, this is Sam.',
    });

    await t.callee.waitFor((c) => c.said.length === 1);
    t.out.media(dtmfTones('2'));
    await t.callee.waitFor((c) => c.said.length === 2);
    t.out.media(dtmfTones('44#'));
    await t.callee.waitFor((c) => c.said.includes('Billing, this is Sam.'));

    expect(t.callee.digits).toBe('244#');
    expect(t.callee.said).toEqual(['Thanks for calling. For a person, press 2.', 'Enter your account number, then pound.', 'Billing, this is Sam.']);
    expect(t.callee.heard).toEqual([]); // tones are not speech
  });

  it('a key the person presses reaches the app as a dtmf message', async (ctx) => {
    const { expect } = ctx;
    const t = await twilioLine(ctx);

    t.callee.press('7');
    const dtmf = await t.socket.next((m) => m.event === 'dtmf');

    expect(dtmf.message).toEqual({ event: 'dtmf', sequenceNumber: expect.any(String), streamSid: t.streamSid, dtmf: { track: 'inbound_track', digit: '7' } });
    expect(t.call.streams[0]!.toServer.dtmf).toBe('7');
  });

  it('update({ twiml }) on a streaming call stops the stream and plays the new TwiML (the apology path)', async (ctx) => {
    const { expect } = ctx;
    const t = await twilioLine(ctx);
    const apology = 'Sorry, we are having technical trouble. Goodbye.';

    await t.client.calls(t.sid).update({ twiml: `<Response><Say>${apology}</Say><Hangup/></Response>` });
    await t.socket.closed;
    await t.emulator.finished(t.sid);

    expect(t.socket.events().at(-1)).toBe('stop');
    expect(t.call.streams).toMatchObject([{ endedBy: 'redirect' }]);
    expect(t.call.said).toEqual([DISCLOSURE, apology]);
    expect(t.call).toMatchObject({ hungUp: true, status: 'completed' });
  });

  it('an app that closes the socket without a word (a refused token) is recorded; Twilio goes on after </Connect>', async (ctx) => {
    const { expect } = ctx;
    const t = await twilioLine(ctx, {}, '<Say>Goodbye.</Say>');

    t.socket.ws.close(4001, 'bad token');
    await t.emulator.finished(t.sid);

    expect(t.call.streams).toMatchObject([{ handshake: 'refused', endedBy: 'server', closeCode: 4001, closeReason: 'bad token' }]);
    expect(t.socket.events()).not.toContain('stop');
    expect(t.call.said).toEqual([DISCLOSURE, 'Goodbye.']);
    expect(t.call.status).toBe('completed');
  });

  it('the inbound stream can have holes: silence suppressed after speech, lost frames (timestamps jump), a stall (they do not)', async (ctx) => {
    const { expect } = ctx;
    // Greeting 100–500 ms, then 400 ms suppressed; frames lost at 1000–1200 ms; a stall at 1400–1600 ms.
    const t = await twilioLine(ctx, { greeting: 'Hi.', silentGapMs: 400, timestampGaps: [{ atMs: 1000, ms: 200 }], noMedia: [{ atMs: 1400, ms: 200 }] });
    await until(() => t.socket.media().length >= 60, '60 frames', 3000);

    const media = t.socket.media().slice(0, 60);
    const holes = media.slice(1).flatMap((r, i) => {
      const before = media[i]!;
      const arrivedAfter = r.at - before.at;
      const step = Number(r.message.media.timestamp) - Number(before.message.media.timestamp);
      return arrivedAfter > 100 ? [{ after: Number(before.message.media.timestamp), step, arrivedAfter }] : [];
    });
    expect(holes.map(({ after, step }) => ({ after, step }))).toEqual([
      { after: 480, step: 420 }, // the greeting's last frame, then 400 ms suppressed
      { after: 980, step: 220 }, // frames lost in transit: the timestamp shows it
      { after: 1380, step: 20 }, // a stall: only the wall clock shows it
    ]);
    for (const hole of holes) expect(hole.arrivedAfter).toBeGreaterThan(hole.step === 20 ? 190 : hole.step - 30);
    // chunk and sequence numbers count the messages actually sent
    media.forEach((r, i) => expect(r.message.media.chunk).toBe(String(i + 1)));
  });
});

describe('the DTMF detector', () => {
  it('finds every key once, tones straddling blocks, at -6 and -20 dBFS, a repeated key twice', ({ expect }) => {
    for (const dbfs of [-6, -20]) {
      const audio = Buffer.concat([silence(7), dtmfTones('123A456B789C*0#D55', { dbfs }), silence(20)]);
      const detector = new DtmfDetector();
      let keys = '';
      for (let i = 0; i + 160 <= audio.length; i += 160) keys += detector.feed(audio.subarray(i, i + 160)) ?? '';
      expect(keys).toBe('123A456B789C*0#D55');
    }
  });

  it('ignores a single tone and tones shorter than 40 ms', ({ expect }) => {
    const detector = new DtmfDetector();
    const lone = Buffer.from(Array.from({ length: 800 }, (_, n) => linearToMulaw(Math.round(16000 * Math.sin((2 * Math.PI * 697 * n) / 8000)))));
    const blip = dtmfTones('5', { toneMs: 25, gapMs: 100 });
    const audio = Buffer.concat([lone, blip]);
    let keys = '';
    for (let i = 0; i + 160 <= audio.length; i += 160) keys += detector.feed(audio.subarray(i, i + 160)) ?? '';
    expect(keys).toBe('');
  });
});

// ---- Telnyx ----

describe.concurrent('Telnyx media streaming in the emulator', () => {
  it('streaming_start: streaming.started, the token as a Bearer header, then connected, start and media in Telnyx shapes', async (ctx) => {
    const { expect } = ctx;
    const t = await telnyxLine(ctx);
    await sleep(200);

    expect(t.socket.request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const [connected, start] = t.socket.received.map((r) => r.message);
    expect(connected).toEqual({ event: 'connected', version: '1.0.0' });
    expect(start).toEqual({
      event: 'start',
      sequence_number: '1',
      stream_id: t.call.streams[0]!.id,
      start: {
        user_id: expect.any(String),
        call_control_id: t.id,
        call_session_id: t.call.sessionId,
        from: OUR_NUMBER,
        to: PERSON,
        tags: [],
        client_state: CLIENT_STATE,
        custom_parameters: { call_id: 'call_42' },
        media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 },
      },
    });
    const media = t.socket.media();
    expect(media.length).toBeGreaterThanOrEqual(8);
    media.forEach((r, i) =>
      expect(r.message).toEqual({
        event: 'media',
        sequence_number: String(i + 2),
        stream_id: start.stream_id,
        media: { track: 'inbound', chunk: String(i + 1), timestamp: String(i * 20), payload: SILENT_FRAME },
      }),
    );
    // The disclosure was spoken before the stream started.
    expect(t.call.spoken).toEqual([DISCLOSURE]);
    expect(t.call.timeline.indexOf('hook:call.speak.ended')).toBeLessThan(t.call.timeline.indexOf('hook:streaming.started'));
  });

  it('a hangup stops the stream (stop, close), then streaming.stopped and call.hangup', async (ctx) => {
    const { expect } = ctx;
    const t = await telnyxLine(ctx);

    await telnyxRest(t.telnyx, `${t.actions}/hangup`, {});
    await t.socket.closed;
    await t.telnyx.settled();

    expect(t.socket.received.at(-1)!.message).toEqual({
      event: 'stop',
      sequence_number: String(t.socket.received.length - 1),
      stream_id: t.start.stream_id,
      stop: { user_id: t.start.start.user_id, call_control_id: t.id },
    });
    expect(t.app.telnyxEvents()).toEqual(['call.initiated', 'call.answered', 'call.speak.started', 'call.speak.ended', 'streaming.started', 'streaming.stopped', 'call.hangup']);
    expect(t.call.streams).toMatchObject([{ handshake: 'open', endedBy: 'hangup', violations: [] }]);
  });

  it('a chunk under 20 ms gets an error frame (malformed_frame) and is not played; marks and clear work as on Twilio', async (ctx) => {
    const { expect } = ctx;
    const t = await telnyxLine(ctx);

    t.socket.send({ event: 'media', media: { payload: encodeSpeech('Hi', 10).toString('base64') } });
    const error = await t.socket.next((m) => m.event === 'error');
    expect(error.message).toEqual({
      event: 'error',
      sequence_number: expect.any(String),
      stream_id: t.start.stream_id,
      error: { title: 'malformed_frame', code: '100003', detail: expect.any(String) },
    });
    expect(t.call.streams[0]!.violations).toEqual([expect.stringMatching(/10 ms/)]);

    const sentAt = performance.now();
    t.out.media(encodeSpeech('Your table is ready.', 400));
    t.out.mark('m1');
    t.out.media(encodeSpeech('We will hold it until eight.', 1000));
    t.out.mark('m2');
    const m1 = await t.socket.next((m) => m.mark?.name === 'm1');
    await sleep(200);
    const clearedAt = performance.now();
    t.out.clear();
    const m2 = await t.socket.next((m) => m.mark?.name === 'm2');

    expect(m1.message).toEqual({ event: 'mark', sequence_number: expect.any(String), stream_id: t.start.stream_id, mark: { name: 'm1' } });
    expect(m1.at - sentAt).toBeGreaterThanOrEqual(395);
    expect(m2.at - clearedAt).toBeLessThan(30); // echoed by the clear, not after its audio
    const heard = await t.callee.waitFor((c) => c.heard[0]);
    expect(heard).toMatchObject({ text: 'Your table is ready. We will hold it until eight.', cut: true });
    expect(t.call.streams[0]!.fromServer).toMatchObject({ marks: ['m1', 'm2'], clears: 1 });
  });

  it('send_dtmf reaches the IVR as key presses; a key the person presses reaches the app as a dtmf frame', async (ctx) => {
    const { expect } = ctx;
    const t = await telnyxLine(ctx, { ivr: { prompt: 'For a person, press 2.', digit: '2' }, greeting: 'Hi, Bob speaking.' });

    await t.callee.waitFor((c) => c.said.length === 1);
    await telnyxRest(t.telnyx, `${t.actions}/send_dtmf`, { digits: '2', duration_millis: 100 });
    await t.callee.waitFor((c) => c.said.includes('Hi, Bob speaking.'));
    expect(t.callee.digits).toBe('2');
    expect(t.callee.timeline.map((e) => e.event)).toContain('key:2 (out-of-band)');

    t.callee.press('9');
    const dtmf = await t.socket.next((m) => m.event === 'dtmf');
    expect(dtmf.message).toEqual({ event: 'dtmf', sequence_number: expect.any(String), stream_id: t.start.stream_id, occurred_at: expect.any(String), dtmf: { digit: '9' } });
  });

  it('stream_* on the dial streams once answered; streaming_stop ends the stream but not the call', async (ctx) => {
    const { expect } = ctx;
    const app = await FakeApp.start(ctx);
    const telnyx = await TelnyxEmulator.start({ speakMs: 20 });
    ctx.onTestFinished(() => telnyx.close());
    const { data } = await telnyxRest(telnyx, '/calls', { to: PERSON, from: OUR_NUMBER, connection_id: telnyx.connectionId, webhook_url: `${app.url}/telnyx`, ...streamFields(app) });
    const socket = await app.socket();
    await socket.next((m) => m.event === 'start');

    await telnyxRest(telnyx, `/calls/${encodeURIComponent(data.call_control_id)}/actions/streaming_stop`, {});
    await socket.closed;
    await telnyx.settled();

    expect(socket.events().at(-1)).toBe('stop');
    expect(app.telnyxEvents()).toEqual(['call.initiated', 'call.answered', 'streaming.started', 'streaming.stopped']);
    expect(telnyx.calls.get(data.call_control_id)).toMatchObject({ alive: true, streams: [{ endedBy: 'stopped' }] });
  });

  it('an inbound call answered with stream_* puts the caller on the stream; both_tracks adds what they hear as outbound frames', async (ctx) => {
    const { expect } = ctx;
    const app = await FakeApp.start(ctx);
    const telnyx = await TelnyxEmulator.start({ speakMs: 20 });
    ctx.onTestFinished(() => telnyx.close());
    telnyx.webhookUrl = `${app.url}/telnyx`;
    telnyx.scriptMedia(PERSON, { greeting: 'Hi, is this the bakery?' });
    const call = telnyx.inboundCall(PERSON, OUR_NUMBER);
    await until(() => app.telnyxEvents().includes('call.initiated'), 'call.initiated');

    await telnyxRest(telnyx, `/calls/${encodeURIComponent(call.id)}/actions/answer`, { ...streamFields(app), stream_track: 'both_tracks' });
    const socket = await app.socket();
    const start = (await socket.next((m) => m.event === 'start')).message;
    telnyxSender(socket).media(encodeSpeech('Yes, how can I help?', 200));
    await until(() => socket.received.filter((r) => r.message.media?.track === 'outbound').length >= 10, 'ten outbound frames');
    await until(() => socket.personSaid().includes('Hi, is this the bakery?'), 'the greeting');

    expect(start.start).toMatchObject({ call_control_id: call.id, from: PERSON, to: OUR_NUMBER });
    const outbound = socket.received.filter((r) => r.message.media?.track === 'outbound').map((r) => r.message);
    expect(outbound[0]).toEqual({ event: 'media', sequence_number: expect.any(String), stream_id: start.stream_id, media: { track: 'outbound', chunk: '1', timestamp: expect.any(String), payload: expect.any(String) } });
    expect(decodeSpeech(Buffer.concat(outbound.map((m) => Buffer.from(m.media.payload, 'base64'))))).toEqual(['Yes, how can I help?']);
    expect(app.telnyxEvents()).toEqual(['call.initiated', 'call.answered', 'streaming.started']);
  });

  it('an upgrade the app refuses gets streaming.failed, with the reason; the call carries on', async (ctx) => {
    const { expect } = ctx;
    const app = await FakeApp.start(ctx);
    app.refuseUpgrades = 401;
    const telnyx = await TelnyxEmulator.start({ speakMs: 20 });
    ctx.onTestFinished(() => telnyx.close());
    const { data } = await telnyxRest(telnyx, '/calls', { to: PERSON, from: OUR_NUMBER, connection_id: telnyx.connectionId, webhook_url: `${app.url}/telnyx`, ...streamFields(app) });
    await until(() => app.telnyxEvents().includes('streaming.failed'), 'streaming.failed');

    const failed = JSON.parse(app.webhooks.at(-1)!.body).data.payload;
    expect(failed).toMatchObject({ stream_type: 'websocket', failure_reason: 'Unexpected server response: 401', stream_params: { stream_url: app.wsUrl('/media/telnyx') } });
    expect(telnyx.calls.get(data.call_control_id)).toMatchObject({ alive: true, streams: [{ handshake: 'failed', endedBy: 'failed' }] });
  });

  it('the person hanging up: stop, close, streaming.stopped, then call.hangup from the callee', async (ctx) => {
    const { expect } = ctx;
    const t = await telnyxLine(ctx, { hangupAfterMs: 100 });

    await t.socket.closed;
    await t.telnyx.settled();

    expect(t.socket.events().at(-1)).toBe('stop');
    expect(t.app.telnyxEvents().slice(-2)).toEqual(['streaming.stopped', 'call.hangup']);
    const hangup = JSON.parse(t.app.webhooks.at(-1)!.body).data.payload;
    expect(hangup).toMatchObject({ hangup_cause: 'normal_clearing', hangup_source: 'callee' });
    expect(t.call).toMatchObject({ alive: false, streams: [{ endedBy: 'person' }] });
  });
});
