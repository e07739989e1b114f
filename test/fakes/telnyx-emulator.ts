import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MediaCallee, mentions, type MediaCalleeOptions } from './media-callee.js';
import { decodePayload, MediaStream, parseMessage, type CarrierError, type ServerFrame, type StreamEnd, type StreamProtocol } from './media-stream.js';
import { BYTES_PER_MS, FRAME_BYTES } from './speech-code.js';

/**
 * An offline Telnyx: a real HTTP server speaking the v2 REST subset Switchboard uses (dial, answer, reject, speak,
 * hangup, call status, messages) that then plays each call and message by posting Ed25519-signed webhooks, like Telnyx does.
 *
 * Media streaming (streaming_start, or stream_* on answer and dial) opens a real WebSocket to the app with a simulated
 * person on the line (media-callee.ts); send_dtmf reaches that person as key presses. See `startStream()`.
 *
 * Speech recognition (transcription_start) hears a person who talks in text (`scriptConversation`): they hear every
 * speak and answer some with call.transcription webhooks, interim results first. See `personHeard()`.
 */

/**
 * What the number called does. `fail_once`: the first dial to it gets a 500, the next one answers like a human.
 * `slow_once`: the first dial is placed but its response comes only after a second (a lost answer); the call answers.
 */
export type CallBehaviour = 'answer' | 'busy' | 'no_answer' | 'machine' | 'reject' | 'fail_once' | 'slow_once' | 'manual';
/**
 * What happens to an SMS sent to the number. `fail`: the send itself gets a 500. `status_first`: delivered, but
 * message.sent is posted before the send is answered, as happens when Telnyx's webhook beats its own response.
 */
export type SmsBehaviour = 'deliver' | 'undeliverable' | 'fail' | 'status_first';
/**
 * The person on a call, in text, for calls Telnyx transcribes. They hear each speak to its end; then, unless `silent`,
 * they answer a sentence that names a fact (every word of its key: `opening_hours` → "opening… hours…") with its
 * value, and any other question (ending in "?") with the next of their `replies` (with none left they say nothing);
 * with `answer: 'everything'` statements get the next reply too. They hang up instead of answering the
 * `hangupAfter`th speak they hear.
 */
export type ConversationScript = {
  replies?: string[];
  facts?: Record<string, string>;
  silent?: boolean;
  hangupAfter?: number;
  answer?: 'questions' | 'everything';
};

/** How a webhook is signed: properly, with another key, with a timestamp 10 minutes old, or not at all. */
export type Signing = 'valid' | 'forged' | 'stale' | 'missing';

export type EmulatedCall = {
  id: string;
  legId: string;
  sessionId: string;
  direction: 'incoming' | 'outgoing';
  from: string;
  to: string;
  webhookUrl: string;
  clientState: string | null;
  dial?: Record<string, unknown>;
  alive: boolean;
  answered: boolean;
  startedAt: number;
  answeredAt?: number;
  endedAt?: number;
  speaking: boolean;
  /** Set when a hangup arrived while a speak was still playing: the bug where a message is cut off. */
  hangupWhileSpeaking: boolean;
  spoken: string[];
  /** Commands executed (a repeated command_id is not executed twice). */
  commands: { verb: string; body: Record<string, unknown> }[];
  /** Commands and webhooks in the order they happened: `cmd:speak`, `hook:call.speak.ended`, `stream:open`, … */
  timeline: string[];
  /** Every media stream the call ran, in order: handshake, what the app sent, violations, how it ended. */
  streams: MediaStream[];
  /** The person on the far end of the call's streams, once one started. */
  callee?: MediaCallee;
  /** Speech recognition since transcription_start (until transcription_stop): its engine and tracks. */
  transcription?: { engine: string; tracks: string };
  /** A scripted conversation's person: every speak they heard and every answer they gave, in order. */
  person?: { heard: string[]; said: string[] };
};

export type EmulatedMessage = { id: string; from: string; to: string; text: string; body: Record<string, unknown> };
export type Delivery = { eventId: string; eventType: string; status: number; signing: Signing };
export type RequestRecord = { method: string; path: string; status: number; body: Record<string, unknown> };

type Sent = { url: string; body: string; eventType: string };

export class TelnyxEmulator {
  readonly calls = new Map<string, EmulatedCall>();
  readonly messages: EmulatedMessage[] = [];
  readonly requests: RequestRecord[] = [];
  readonly deliveries: Delivery[] = [];
  /** Where inbound calls and messages are posted (the connection's and messaging profile's webhook URL). */
  webhookUrl = '';

  private readonly keys = generateKeyPairSync('ed25519');
  private readonly forger = generateKeyPairSync('ed25519');
  private readonly callScript = new Map<string, CallBehaviour>();
  private readonly smsScript = new Map<string, SmsBehaviour>();
  private readonly mediaScript = new Map<string, MediaCalleeOptions>();
  private readonly conversationScript = new Map<string, ConversationScript>();
  /** The replies each call's person has left, by call id. */
  private readonly repliesLeft = new Map<string, string[]>();
  /** Every stream opened, so close() can end them (a forgotten call's too). */
  private readonly streams = new Set<MediaStream>();
  /** Streams whose streaming.stopped has been posted (or is being). */
  private readonly stopReported = new Set<MediaStream>();
  private readonly userId = randomUUID();
  private readonly failedOnce = new Set<string>();
  private readonly seenCommands = new Map<string, unknown>();
  private readonly sent = new Map<string, Sent>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly pending = new Set<Promise<void>>();
  private readonly timeLimits = new Set<NodeJS.Timeout>();
  /** Calls whose webhooks no longer reach Switchboard. */
  private readonly unheard = new Set<string>();

  private constructor(
    private readonly server: Server,
    readonly apiKey: string,
    readonly connectionId: string,
    private readonly speakMs: number,
    private readonly secondMs: number,
  ) {}

  /** `speakMs`: how long each speak plays; `secondMs`: how long a second of call time lasts, for time_limit_secs. */
  static async start(opts: { apiKey?: string; connectionId?: string; speakMs?: number; secondMs?: number } = {}): Promise<TelnyxEmulator> {
    const server = createServer();
    const emulator = new TelnyxEmulator(server, opts.apiKey ?? 'KEY0123456789ABCDEF_emulatorTestKey', opts.connectionId ?? '1494404757140276705', opts.speakMs ?? 40, opts.secondMs ?? 1000);
    server.on('request', (req, res) => void emulator.route(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return emulator;
  }

  /** REST base URL, the value for SWITCHBOARD_TELNYX_API_URL. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v2`;
  }

  /**
   * The settings of a Switchboard on this account whose listener will be on `port`, and the connection's and messaging
   * profile's webhook (for inbound calls and texts) pointed at it, as the owner would paste it in the portal.
   */
  switchboardEnv(port: number, fromNumber: string): Record<string, string> {
    const publicUrl = `http://127.0.0.1:${port}`;
    this.webhookUrl = `${publicUrl}/webhooks/telnyx`;
    return {
      SWITCHBOARD_PROVIDER: 'telnyx',
      SWITCHBOARD_HTTP_PORT: String(port),
      SWITCHBOARD_PUBLIC_URL: publicUrl,
      SWITCHBOARD_TELNYX_API_URL: this.url,
      SWITCHBOARD_FROM_NUMBER: fromNumber,
      TELNYX_API_KEY: this.apiKey,
      TELNYX_CONNECTION_ID: this.connectionId,
      TELNYX_PUBLIC_KEY: this.publicKeyRaw,
    };
  }

  /** The webhook public key as the Telnyx portal shows it: base64 of the raw 32 bytes. */
  get publicKeyRaw(): string {
    return Buffer.from(this.publicKeyDer, 'base64').subarray(-32).toString('base64');
  }

  /** The same key as base64 DER/SPKI. */
  get publicKeyDer(): string {
    return this.keys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  }

  scriptCall(number: string, behaviour: CallBehaviour): void {
    this.callScript.set(number, behaviour);
  }

  scriptSms(number: string, behaviour: SmsBehaviour): void {
    this.smsScript.set(number, behaviour);
  }

  /** The person at `number` (the one called, or the caller of an inbound call) once a media stream carries them. */
  scriptMedia(number: string, options: MediaCalleeOptions): void {
    this.mediaScript.set(number, options);
  }

  /** The person at `number` (the one called, or the caller of an inbound call) talks in text; see ConversationScript. */
  scriptConversation(number: string, script: ConversationScript): void {
    this.conversationScript.set(number, script);
  }

  /** The one call placed to `number` (throws when there is none or several). */
  callTo(number: string): EmulatedCall {
    const found = [...this.calls.values()].filter((c) => c.to === number);
    if (found.length !== 1) throw new Error(`expected one call to ${number}, found ${found.length}`);
    return found[0];
  }

  /** How many REST requests hit `path` (a suffix such as `/actions/speak`), deduped command_ids included. */
  requestCount(method: string, pathSuffix: string): number {
    return this.requests.filter((r) => r.method === method && r.path.endsWith(pathSuffix)).length;
  }

  /** Someone calls in: Telnyx parks the call and posts call.initiated (direction incoming). */
  inboundCall(from: string, to: string): EmulatedCall {
    const call = this.newCall('incoming', from, to, this.webhookUrl, null);
    this.later(call.id, () => this.callEvent(call, 'call.initiated', { state: 'parked' }));
    return call;
  }

  /** Someone texts in: Telnyx posts message.received. */
  inboundSms(from: string, to: string, text: string): Promise<number> {
    const payload = {
      id: randomUUID(),
      record_type: 'message',
      direction: 'inbound',
      type: 'SMS',
      from: { phone_number: from, carrier: 'Emulated Wireless', line_type: 'Wireless' },
      to: [{ phone_number: to, status: 'webhook_delivered' }],
      text,
      received_at: new Date().toISOString(),
    };
    return this.post(this.webhookUrl, 'message.received', payload);
  }

  /** Posts one call event by hand (out-of-order and forged-signature scenarios). Resolves with the HTTP status. */
  emitCallEvent(call: EmulatedCall, eventType: string, extra: Record<string, unknown> = {}, signing: Signing = 'valid'): Promise<number> {
    if (eventType === 'call.hangup') {
      ended(call);
      this.stopStreams(call, 'hangup');
    }
    if (eventType === 'call.answered' && signing === 'valid') answered(call);
    return this.callEvent(call, eventType, extra, signing);
  }

  /** The call ends at Telnyx, but its call.hangup never reaches Switchboard (it was down until Telnyx gave up retrying). */
  endUnheard(call: EmulatedCall): void {
    ended(call);
    this.stopStreams(call, 'hangup');
    call.timeline.push('lost:call.hangup');
  }

  /** From now on the call's webhooks are lost on the way to Switchboard; REST still works. */
  loseWebhooks(call: EmulatedCall): void {
    this.unheard.add(call.id);
  }

  /** Telnyx no longer knows the call (it keeps a call's status only 10 minutes after it ends): REST answers 404 for it. */
  forget(call: EmulatedCall): void {
    this.calls.delete(call.id);
  }

  /** Posts an already delivered event again, byte for byte, freshly signed: Telnyx's at-least-once delivery. */
  redeliver(eventId: string, signing: Signing = 'valid'): Promise<number> {
    return this.deliver(eventId, signing);
  }

  /** The id of the first event of `eventType` sent for `call`. */
  eventId(call: EmulatedCall, eventType: string): string {
    const [id] = this.eventIds(call, eventType);
    if (id === undefined) throw new Error(`no ${eventType} was sent for ${call.id}`);
    return id;
  }

  /** The ids of every event of `eventType` sent for `call` so far, in order. */
  eventIds(call: EmulatedCall, eventType: string): string[] {
    const forCall = (sent: Sent) => (JSON.parse(sent.body) as { data: { payload: { call_control_id?: string } } }).data.payload.call_control_id === call.id;
    return [...this.sent].filter(([, sent]) => sent.eventType === eventType && forCall(sent)).map(([id]) => id);
  }

  /** Resolves once every scripted webhook has been posted and answered. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all(this.pending);
  }

  /** Ends live streams (`stop`, close), then waits for every webhook in flight. */
  async close(): Promise<void> {
    for (const timer of this.timeLimits) clearTimeout(timer);
    for (const stream of this.streams) stream.end('emulator');
    await Promise.all([...this.streams].map((s) => s.ended));
    await this.settled();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- REST ----

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://emulator').pathname;
    const raw = await readBody(req);
    let body: Record<string, unknown> = {};
    try {
      body = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      return this.reply(res, req, path, body, 400, errors('10015', 'Bad Request', 'The request body is not valid JSON.'));
    }
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return this.reply(res, req, path, body, 401, errors('10009', 'Authentication failed', 'Could not understand the provided credentials.'));
    }
    const status = /^\/v2\/calls\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && status) return this.callStatus(req, res, path, decodeURIComponent(status[1]));
    if (req.method !== 'POST') return this.reply(res, req, path, body, 404, errors('10005', 'Resource not found', `No route for ${req.method} ${path}.`));
    if (path === '/v2/calls') return this.dial(req, res, path, body);
    if (path === '/v2/messages') return this.sendMessage(req, res, path, body);
    const action = /^\/v2\/calls\/([^/]+)\/actions\/(answer|reject|speak|hangup|streaming_start|streaming_stop|send_dtmf|transcription_start|transcription_stop)$/.exec(path);
    if (action) return this.action(req, res, path, body, decodeURIComponent(action[1]), action[2]);
    return this.reply(res, req, path, body, 404, errors('10005', 'Resource not found', `No route for POST ${path}.`));
  }

  private dial(req: IncomingMessage, res: ServerResponse, path: string, body: Record<string, unknown>): void {
    const { to, from, connection_id, webhook_url, client_state, command_id } = body;
    if (typeof to !== 'string' || typeof from !== 'string' || connection_id !== this.connectionId) {
      return this.reply(res, req, path, body, 422, errors('10015', 'Invalid value', 'connection_id, to and from are required and connection_id must be a Call Control application.'));
    }
    if (client_state !== undefined && !isBase64(client_state)) return this.reply(res, req, path, body, 422, errors('90053', 'Invalid client state', 'client_state must be base64.'));
    const badStream = body.stream_url === undefined ? undefined : streamFieldsProblem(body);
    if (badStream) return this.reply(res, req, path, body, 422, errors('10015', 'Invalid value', badStream));
    const dedupeKey = `dial|${String(command_id)}`;
    if (command_id !== undefined && this.seenCommands.has(dedupeKey)) return this.reply(res, req, path, body, 200, this.seenCommands.get(dedupeKey));
    const behaviour = this.callScript.get(to) ?? 'answer';
    if (behaviour === 'fail_once' && !this.failedOnce.has(to)) {
      this.failedOnce.add(to);
      return this.reply(res, req, path, body, 500, errors('10007', 'Unexpected error', 'An unexpected error occurred.'));
    }
    const call = this.newCall('outgoing', from, to, typeof webhook_url === 'string' ? webhook_url : this.webhookUrl, typeof client_state === 'string' ? client_state : null);
    call.dial = body;
    call.timeline.push('cmd:dial');
    const response = { data: { call_control_id: call.id, call_leg_id: call.legId, call_session_id: call.sessionId, is_alive: true, record_type: 'call' } };
    if (command_id !== undefined) this.seenCommands.set(dedupeKey, response);
    if (behaviour === 'slow_once' && !this.failedOnce.has(to)) {
      this.failedOnce.add(to);
      this.requests.push({ method: 'POST', path, status: 200, body });
      setTimeout(() => res.destroyed || write(res, 200, response), 1000);
    } else {
      this.reply(res, req, path, body, 200, response);
    }
    this.later(call.id, () => this.play(call, behaviour));
  }

  /** GET /v2/calls/{id}: alive or not, talk time in (emulated) seconds, rounded up once answered, and the end time. */
  private callStatus(req: IncomingMessage, res: ServerResponse, path: string, id: string): void {
    const call = this.calls.get(id);
    if (!call) return this.reply(res, req, path, {}, 404, errors('90015', 'Invalid call control id', 'The call_control_id is unknown.'));
    const talked = call.answeredAt === undefined ? 0 : Math.max(1, Math.ceil(((call.endedAt ?? Date.now()) - call.answeredAt) / this.secondMs));
    const data = {
      record_type: 'call',
      call_control_id: call.id,
      call_leg_id: call.legId,
      call_session_id: call.sessionId,
      client_state: call.clientState,
      is_alive: call.alive,
      call_duration: talked,
      start_time: new Date(call.startedAt).toISOString(),
      ...(call.endedAt !== undefined && { end_time: new Date(call.endedAt).toISOString() }),
    };
    this.reply(res, req, path, {}, 200, { data });
  }

  private action(req: IncomingMessage, res: ServerResponse, path: string, body: Record<string, unknown>, id: string, verb: string): void {
    const call = this.calls.get(id);
    if (!call) return this.reply(res, req, path, body, 404, errors('90015', 'Invalid call control id', 'The call_control_id is unknown.'));
    const dedupeKey = `${id}|${String(body.command_id)}`;
    if (body.command_id !== undefined && this.seenCommands.has(dedupeKey)) return this.reply(res, req, path, body, 200, { data: { result: 'ok' } });
    if (!call.alive) return this.reply(res, req, path, body, 422, errors('90018', 'Call has already ended', 'This call is no longer active and can\'t receive commands.'));
    if (verb === 'speak' && (typeof body.payload !== 'string' || typeof body.voice !== 'string')) {
      return this.reply(res, req, path, body, 422, errors('10015', 'Invalid value', 'payload and voice are required.'));
    }
    if (verb === 'speak' && String(body.payload).length > 3000) {
      return this.reply(res, req, path, body, 422, errors('10015', 'Invalid value', 'payload must be 3,000 characters or fewer.'));
    }
    if (body.client_state !== undefined && !isBase64(body.client_state)) return this.reply(res, req, path, body, 422, errors('90053', 'Invalid client state', 'client_state must be base64.'));
    const problem = this.commandProblem(call, verb, body);
    if (problem) return this.reply(res, req, path, body, 422, problem);
    if (body.command_id !== undefined) this.seenCommands.set(dedupeKey, true);
    if (typeof body.client_state === 'string') call.clientState = body.client_state;
    call.commands.push({ verb, body });
    call.timeline.push(`cmd:${verb}`);
    this.reply(res, req, path, body, 200, { data: { result: 'ok' } });
    this.execute(call, verb, body);
  }

  private execute(call: EmulatedCall, verb: string, body: Record<string, unknown>): void {
    switch (verb) {
      case 'answer':
        answered(call);
        this.later(call.id, () => this.callEvent(call, 'call.answered'));
        if (body.stream_url !== undefined) this.later(call.id, () => this.startStream(call, body));
        return;
      case 'streaming_start':
        this.later(call.id, () => this.startStream(call, body));
        return;
      case 'streaming_stop':
        // Queued: a stream whose streaming_start is still being set up is stopped too.
        this.later(call.id, () => this.reportStopped(call, this.stopStreams(call, 'stopped', typeof body.stream_id === 'string' ? body.stream_id : undefined)));
        return;
      case 'send_dtmf':
        // Telnyx plays the keys into the call; the person (or the IVR) hears each as a key press.
        this.later(call.id, async () => call.callee?.onKeys(String(body.digits), Number(body.duration_millis ?? 250)));
        return;
      case 'reject':
        ended(call);
        this.later(call.id, () => this.hangupEvent(call, 'call_rejected', '603', 'callee'));
        return;
      case 'speak':
        call.spoken.push(String(body.payload));
        call.speaking = true;
        this.later(call.id, async () => {
          await this.callEvent(call, 'call.speak.started');
          await sleep(this.speakMs);
          call.speaking = false;
          if (!call.alive) return;
          await this.callEvent(call, 'call.speak.ended', { status: 'completed' });
          await this.personHeard(call, String(body.payload));
        });
        return;
      case 'transcription_start': {
        const config = body.transcription_engine_config as { transcription_engine?: string } | undefined;
        const engine = String(body.transcription_engine ?? config?.transcription_engine ?? 'Google');
        call.transcription = { engine, tracks: String(body.transcription_tracks ?? 'inbound') };
        return;
      }
      case 'transcription_stop':
        call.transcription = undefined;
        return;
      case 'hangup': {
        if (call.speaking) call.hangupWhileSpeaking = true;
        ended(call);
        const streams = this.stopStreams(call, 'hangup');
        if (streams.length > 0) this.later(call.id, () => this.reportStopped(call, streams));
        // Hanging up a call nobody answered cancels it, as on the real network (SIP 487 Request Terminated).
        if (call.answered) this.later(call.id, () => this.hangupEvent(call, 'normal_clearing', 'unspecified', call.direction === 'outgoing' ? 'caller' : 'callee'));
        else this.later(call.id, () => this.hangupEvent(call, 'originator_cancel', '487', 'caller'));
        return;
      }
    }
  }

  /** Why Telnyx refuses a command's fields (422), for the commands whose fields the emulator checks. */
  private commandProblem(call: EmulatedCall, verb: string, body: Record<string, unknown>): ReturnType<typeof errors> | undefined {
    if (verb === 'streaming_start' || (verb === 'answer' && body.stream_url !== undefined)) {
      const problem = streamFieldsProblem(body);
      if (problem) return errors('10015', 'Invalid value', problem);
    }
    if (verb === 'streaming_start' && call.streams.some((s) => s.live)) {
      return errors('90061', 'Stream already active', 'This call already has an active media stream; stop it first.');
    }
    if (verb === 'transcription_start') {
      const problem = transcriptionProblem(body);
      if (problem) return errors('10015', 'Invalid value', problem);
    }
    if (verb === 'send_dtmf' && (typeof body.digits !== 'string' || !/^[0-9A-D*#wW]+$/.test(body.digits))) {
      return errors('10015', 'Invalid value', 'digits must be 0-9, A-D, *, # (w and W pause).');
    }
    const duration = body.duration_millis;
    if (verb === 'send_dtmf' && duration !== undefined && !(Number.isInteger(duration) && Number(duration) >= 100 && Number(duration) <= 500)) {
      return errors('10015', 'Invalid value', 'duration_millis must be between 100 and 500.');
    }
    return undefined;
  }

  private async sendMessage(req: IncomingMessage, res: ServerResponse, path: string, body: Record<string, unknown>): Promise<void> {
    const { to, from, text } = body;
    if (typeof to !== 'string' || typeof from !== 'string' || typeof text !== 'string') {
      return this.reply(res, req, path, body, 422, errors('40005', 'Invalid value', 'to, from and text are required.'));
    }
    const behaviour = this.smsScript.get(to) ?? 'deliver';
    if (behaviour === 'fail') return this.reply(res, req, path, body, 500, errors('40001', 'Unexpected error', 'The message could not be queued.'));
    const message: EmulatedMessage = { id: randomUUID(), from, to, text, body };
    this.messages.push(message);
    const record = (status: string, errs: unknown[] = []) => ({
      id: message.id,
      record_type: 'message',
      direction: 'outbound',
      type: 'SMS',
      from: { phone_number: from, carrier: 'Telnyx', line_type: 'Wireline' },
      to: [{ phone_number: to, status, carrier: 'Emulated Wireless', line_type: 'Wireless' }],
      text,
      messaging_profile_id: body.messaging_profile_id ?? null,
      errors: errs,
    });
    const url = typeof body.webhook_url === 'string' ? body.webhook_url : this.webhookUrl;
    const sent = this.event(url, 'message.sent', record('sent'));
    // status_first: the first try lands before the send is answered; any redelivery comes after.
    const early = behaviour === 'status_first' ? await this.deliver(sent) : undefined;
    this.reply(res, req, path, body, 200, { data: record('queued') });
    this.later(message.id, async () => {
      await this.deliverUntilAccepted(sent, early);
      if (behaviour === 'undeliverable') await this.post(url, 'message.finalized', record('delivery_failed', [{ code: '40002', title: 'Blocked as spam - permanent', detail: 'The message was blocked by the carrier.' }]));
      else await this.post(url, 'message.finalized', record('delivered'));
    });
  }

  private reply(res: ServerResponse, req: IncomingMessage, path: string, body: Record<string, unknown>, status: number, payload: unknown): void {
    this.requests.push({ method: req.method ?? '', path, status, body });
    write(res, status, payload);
  }

  // ---- the network's side of a call ----

  private async play(call: EmulatedCall, behaviour: CallBehaviour): Promise<void> {
    await this.callEvent(call, 'call.initiated', { state: 'bridging' });
    const amd = call.dial?.answering_machine_detection;
    switch (behaviour) {
      case 'busy':
        return this.end(call, 'user_busy', '486', 'callee');
      case 'no_answer':
        return this.end(call, 'timeout', '480', 'unknown');
      case 'reject':
        return this.end(call, 'call_rejected', '603', 'callee');
      case 'manual':
        return;
      case 'answer':
      case 'fail_once':
      case 'slow_once':
        await this.answer(call);
        if (amd === 'detect' || amd === 'detect_beep') await this.callEvent(call, 'call.machine.detection.ended', { result: 'human' });
        return;
      case 'machine':
        await this.answer(call);
        if (amd === 'detect' || amd === 'detect_beep') await this.callEvent(call, 'call.machine.detection.ended', { result: 'machine' });
        if (amd === 'detect_beep' && call.alive) await this.callEvent(call, 'call.machine.greeting.ended', { result: 'beep_detected' });
        return;
    }
  }

  /**
   * The callee picks up; from then on the dial's time_limit_secs runs, and Telnyx hangs up when it is reached. A dial
   * with stream_url starts streaming once answered.
   */
  private async answer(call: EmulatedCall): Promise<void> {
    answered(call);
    const limit = Number(call.dial?.time_limit_secs);
    if (limit > 0) {
      // Not queued behind the call's other steps: the limit cuts into whatever is playing.
      const timer = setTimeout(() => {
        this.timeLimits.delete(timer);
        if (call.alive) this.track(this.end(call, 'time_limit', 'unspecified', 'unknown'));
      }, limit * this.secondMs);
      this.timeLimits.add(timer);
    }
    await this.callEvent(call, 'call.answered');
    if (call.dial?.stream_url !== undefined) await this.startStream(call, call.dial);
  }

  private async end(call: EmulatedCall, cause: string, sip: string, source: string): Promise<void> {
    ended(call);
    await this.reportStopped(call, this.stopStreams(call, cause === 'time_limit' ? 'time_limit' : 'hangup'));
    await this.hangupEvent(call, cause, sip, source);
  }

  // ---- speech recognition ----

  /**
   * A speak on the call played to its end. A scripted person heard it and may answer or hang up (see
   * ConversationScript); what is said on a track Telnyx transcribes comes back as call.transcription webhooks.
   */
  private async personHeard(call: EmulatedCall, text: string): Promise<void> {
    const tracks = call.transcription?.tracks;
    // Our own speech is the outbound track.
    if (tracks === 'outbound' || tracks === 'both') await this.transcribed(call, text, 'outbound');
    const script = this.conversationScript.get(call.direction === 'outgoing' ? call.to : call.from);
    if (!script || !call.alive) return;
    const person = (call.person ??= { heard: [], said: [] });
    person.heard.push(text);
    if (script.hangupAfter !== undefined && person.heard.length >= script.hangupAfter) return this.personHungUp(call);
    const reply = this.replyTo(call, script, text);
    if (reply === undefined) return;
    person.said.push(reply);
    if (tracks === 'inbound' || tracks === 'both') await this.transcribed(call, reply, 'inbound');
  }

  private replyTo(call: EmulatedCall, script: ConversationScript, heard: string): string | undefined {
    if (script.silent) return undefined;
    const facts = Object.entries(script.facts ?? {}).filter(([key]) => mentions(heard, key));
    if (facts.length > 0) return facts.map(([, value]) => value).join(' ');
    if (script.answer !== 'everything' && !heard.trim().endsWith('?')) return undefined;
    if (!this.repliesLeft.has(call.id)) this.repliesLeft.set(call.id, [...(script.replies ?? [])]);
    return this.repliesLeft.get(call.id)!.shift();
  }

  /** An utterance as Telnyx's recogniser posts it: growing interim guesses, then the final result. */
  private async transcribed(call: EmulatedCall, text: string, track: 'inbound' | 'outbound'): Promise<void> {
    const result = (transcript: string, isFinal: boolean) =>
      this.hook(call, 'call.transcription', {
        // Only the call's ids and client_state: a transcription carries no from, to or direction.
        ...this.callIds(call),
        transcription_data: { transcript, is_final: isFinal, confidence: isFinal ? 0.94 : 0.61, transcription_track: track },
      });
    for (const guess of interimGuesses(text)) {
      if (call.alive) await result(guess, false);
    }
    if (call.alive) await result(text, true);
  }

  // ---- media streams ----

  /**
   * streaming_start (or stream_* on answer or dial): streaming.started, then a WebSocket to stream_url carrying the
   * person on the line in Telnyx's protocol (`telnyxProtocol`). A socket that does not open gets streaming.failed;
   * one that ends, however it ends, gets streaming.stopped.
   */
  private async startStream(call: EmulatedCall, body: Record<string, unknown>): Promise<void> {
    if (!call.alive) return;
    const id = randomUUID();
    const url = String(body.stream_url);
    const track = typeof body.stream_track === 'string' ? body.stream_track : 'inbound_track';
    const mode = body.stream_bidirectional_mode;
    const violations: string[] = [];
    if (mode === 'mp3') violations.push('stream_bidirectional_mode "mp3" plays one message a second: a live voice needs "rtp"');
    const codec = body.stream_bidirectional_codec ?? 'PCMU';
    if (mode === 'rtp' && codec !== 'PCMU') violations.push(`stream_bidirectional_codec "${String(codec)}": this emulator's person only hears PCMU`);
    await this.callEvent(call, 'streaming.started', { stream_id: id, stream_url: url });
    if (!call.alive) return;
    const person = call.direction === 'outgoing' ? call.to : call.from;
    const callee = (call.callee ??= new MediaCallee(this.mediaScript.get(person)));
    const parameters = Object.fromEntries(((body.custom_parameters ?? []) as { name: string; value: string }[]).map((p) => [p.name, p.value]));
    const stream = new MediaStream({
      id,
      url,
      parameters,
      // How Telnyx presents stream_auth_token on the upgrade is not documented; we assume `Authorization: Bearer <token>`.
      headers: typeof body.stream_auth_token === 'string' ? { authorization: `Bearer ${body.stream_auth_token}` } : {},
      protocol: telnyxProtocol({ streamId: id, userId: this.userId, call, parameters, bidirectional: mode === 'rtp' }),
      callee,
      tracks: { inbound: track !== 'outbound_track', outbound: track !== 'inbound_track' },
      violations,
      onPersonHangup: () => this.personHungUp(call),
    });
    call.streams.push(stream);
    this.streams.add(stream);
    stream.open();
    const opened = await stream.opened;
    if (!opened) {
      call.timeline.push('stream:failed');
      if (stream.endedBy !== 'failed') return; // ended by the call's end while connecting
      this.stopReported.add(stream);
      await this.callEvent(call, 'streaming.failed', { stream_id: id, stream_type: 'websocket', failure_reason: stream.error ?? 'connection closed', stream_params: { stream_url: url, track } });
      return;
    }
    call.timeline.push('stream:open');
    void stream.ended.then((end) => {
      call.timeline.push(`stream:ended:${end}`);
      if (end !== 'emulator') this.later(call.id, () => this.reportStopped(call, [stream]));
    });
  }

  /** Ends the call's live streams now (`stop`, close); returns them so the caller can order their streaming.stopped. */
  private stopStreams(call: EmulatedCall, reason: StreamEnd, streamId?: string): MediaStream[] {
    const stopping = call.streams.filter((s) => s.live && (streamId === undefined || s.id === streamId));
    for (const stream of stopping) stream.end(reason);
    return stopping;
  }

  /** streaming.stopped for each stream, once it has closed (once per stream, whoever asks first). */
  private async reportStopped(call: EmulatedCall, streams: MediaStream[]): Promise<void> {
    for (const stream of streams) {
      await stream.ended;
      if (this.stopReported.has(stream) || stream.handshake === 'failed' || stream.endedBy === 'emulator') continue;
      this.stopReported.add(stream);
      await this.callEvent(call, 'streaming.stopped', { stream_id: stream.id, stream_url: stream.url });
    }
  }

  /** The person hangs up: the stream stops (`stop`, close), streaming.stopped, then call.hangup. */
  private personHungUp(call: EmulatedCall): void {
    if (!call.alive) return;
    ended(call);
    call.timeline.push('person:hangup');
    const streams = this.stopStreams(call, 'person');
    this.later(call.id, () => this.reportStopped(call, streams));
    this.later(call.id, () => this.hangupEvent(call, 'normal_clearing', 'unspecified', call.direction === 'outgoing' ? 'callee' : 'caller'));
  }

  private hangupEvent(call: EmulatedCall, cause: string, sip: string, source: string): Promise<number> {
    return this.callEvent(call, 'call.hangup', { state: 'hangup', hangup_cause: cause, sip_hangup_cause: sip, hangup_source: source });
  }

  private callEvent(call: EmulatedCall, eventType: string, extra: Record<string, unknown> = {}, signing: Signing = 'valid'): Promise<number> {
    const payload = { ...this.callIds(call), from: call.from, to: call.to, direction: call.direction, start_time: new Date().toISOString(), ...extra };
    return this.hook(call, eventType, payload, signing);
  }

  /** What every call webhook's payload carries: the call's ids, its connection and its client_state. */
  private callIds(call: EmulatedCall) {
    return { call_control_id: call.id, call_leg_id: call.legId, call_session_id: call.sessionId, connection_id: this.connectionId, client_state: call.clientState };
  }

  private hook(call: EmulatedCall, eventType: string, payload: Record<string, unknown>, signing: Signing = 'valid'): Promise<number> {
    if (this.unheard.has(call.id)) {
      call.timeline.push(`lost:${eventType}`);
      return Promise.resolve(0);
    }
    call.timeline.push(`hook:${eventType}`);
    return this.post(call.webhookUrl, eventType, payload, signing);
  }

  private newCall(direction: EmulatedCall['direction'], from: string, to: string, webhookUrl: string, clientState: string | null): EmulatedCall {
    const call: EmulatedCall = {
      id: `v3:${randomUUID().replace(/-/g, '')}`,
      legId: randomUUID(),
      sessionId: randomUUID(),
      direction,
      from,
      to,
      webhookUrl,
      clientState,
      alive: true,
      answered: false,
      startedAt: Date.now(),
      speaking: false,
      hangupWhileSpeaking: false,
      spoken: [],
      commands: [],
      timeline: [],
      streams: [],
    };
    this.calls.set(call.id, call);
    return call;
  }

  // ---- webhooks ----

  private post(url: string, eventType: string, payload: Record<string, unknown>, signing: Signing = 'valid'): Promise<number> {
    return this.deliverUntilAccepted(this.event(url, eventType, payload), undefined, signing);
  }

  /** A new event for `url`, not yet delivered; returns its id. */
  private event(url: string, eventType: string, payload: Record<string, unknown>): string {
    const eventId = randomUUID();
    const body = JSON.stringify({
      data: { record_type: 'event', id: eventId, event_type: eventType, occurred_at: new Date().toISOString(), payload },
      meta: { attempt: 1, delivered_to: url },
    });
    this.sent.set(eventId, { url, body, eventType });
    return eventId;
  }

  /**
   * Telnyx delivers at least once: an event answered with a 5xx is posted again, a little later each time.
   * `lastStatus` is the answer to a try already made.
   */
  private async deliverUntilAccepted(eventId: string, lastStatus?: number, signing: Signing = 'valid'): Promise<number> {
    let status = lastStatus ?? (await this.deliver(eventId, signing));
    for (let retry = 1; status >= 500 && retry <= 5; retry++) {
      await sleep(10 * 2 ** retry);
      status = await this.deliver(eventId, signing);
    }
    return status;
  }

  /** One delivery attempt; resolves with the HTTP status the sidecar answered. */
  private async deliver(eventId: string, signing: Signing = 'valid'): Promise<number> {
    const sent = this.sent.get(eventId);
    if (!sent) throw new Error(`no event ${eventId} was sent`);
    const { url, body, eventType } = sent;
    // A connection per delivery, as from a carrier: a restarted sidecar never gets a request on its predecessor's socket.
    const headers: Record<string, string> = { 'content-type': 'application/json', connection: 'close' };
    if (signing !== 'missing') {
      const timestamp = String(Math.floor(Date.now() / 1000) - (signing === 'stale' ? 600 : 0));
      const key: KeyObject = signing === 'forged' ? this.forger.privateKey : this.keys.privateKey;
      headers['telnyx-timestamp'] = timestamp;
      headers['telnyx-signature-ed25519'] = sign(null, Buffer.from(`${timestamp}|${body}`), key).toString('base64');
    }
    const res = await fetch(url, { method: 'POST', headers, body });
    await res.text();
    this.deliveries.push({ eventId, eventType, status: res.status, signing });
    return res.status;
  }

  /** Runs `step` after the earlier steps of the same call or message, a moment later, as the network would. */
  private later(key: string, step: () => Promise<unknown>): void {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(async () => {
      await sleep(5);
      await step();
    });
    this.queues.set(key, this.track(next));
  }

  /** Work `settled()` waits for. */
  private track(work: Promise<unknown>): Promise<void> {
    const tracked = work.then(() => undefined, () => undefined).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
    return tracked;
  }
}

function answered(call: EmulatedCall): void {
  call.answered = true;
  call.answeredAt ??= Date.now();
}

function ended(call: EmulatedCall): void {
  call.alive = false;
  call.endedAt ??= Date.now();
}

function write(res: ServerResponse, status: number, payload: unknown): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function errors(code: string, title: string, detail: string) {
  return { errors: [{ code, title, detail }] };
}

function isBase64(value: unknown): boolean {
  return typeof value === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// ---- speech recognition ----

const TRANSCRIPTION_ENGINES = ['Google', 'Telnyx', 'Deepgram', 'Azure', 'xAI', 'AssemblyAI', 'Speechmatics', 'Soniox', 'Parakeet', 'Humain', 'Reson8', 'Cohere', 'A', 'B'];

/** Why transcription_start's fields would get a 422, if they would. */
function transcriptionProblem(body: Record<string, unknown>): string | undefined {
  const { transcription_engine: engine, transcription_tracks: tracks } = body;
  const config = body.transcription_engine_config as { transcription_engine?: unknown } | undefined;
  if (engine !== undefined && !TRANSCRIPTION_ENGINES.includes(String(engine))) return `transcription_engine must be one of ${TRANSCRIPTION_ENGINES.join(', ')}.`;
  if (tracks !== undefined && !['inbound', 'outbound', 'both'].includes(String(tracks))) return 'transcription_tracks must be inbound, outbound or both.';
  if (config?.transcription_engine !== undefined && engine !== undefined && config.transcription_engine !== engine) {
    return 'transcription_engine_config.transcription_engine must match transcription_engine.';
  }
  return undefined;
}

/** The interim results before an utterance's final one: the first third and two thirds of its words (one or two guesses). */
function interimGuesses(text: string): string[] {
  const words = text.split(/\s+/);
  const cuts = [...new Set([Math.ceil(words.length / 3), Math.ceil((2 * words.length) / 3)])].filter((n) => n < words.length);
  return (cuts.length > 0 ? cuts : [words.length]).map((n) => words.slice(0, n).join(' '));
}

// ---- the media streaming protocol ----

const STREAM_CODECS = ['PCMU', 'PCMA', 'G722', 'OPUS', 'AMR-WB', 'L16'];

/** Why stream_* fields would get a 422, if they would. */
function streamFieldsProblem(body: Record<string, unknown>): string | undefined {
  const { stream_url, stream_track, stream_codec, stream_bidirectional_mode, stream_bidirectional_codec, stream_auth_token, custom_parameters } = body;
  if (typeof stream_url !== 'string' || !/^wss?:\/\/[^/]/.test(stream_url)) return 'stream_url must be a ws:// or wss:// URL.';
  if (stream_track !== undefined && !['inbound_track', 'outbound_track', 'both_tracks'].includes(String(stream_track))) return 'stream_track must be inbound_track, outbound_track or both_tracks.';
  if (stream_codec !== undefined && ![...STREAM_CODECS, 'default'].includes(String(stream_codec))) return `stream_codec must be one of ${STREAM_CODECS.join(', ')} or default.`;
  if (stream_bidirectional_mode !== undefined && !['mp3', 'rtp'].includes(String(stream_bidirectional_mode))) return 'stream_bidirectional_mode must be mp3 or rtp.';
  if (stream_bidirectional_codec !== undefined && !STREAM_CODECS.includes(String(stream_bidirectional_codec))) return `stream_bidirectional_codec must be one of ${STREAM_CODECS.join(', ')}.`;
  if (stream_auth_token !== undefined && (typeof stream_auth_token !== 'string' || stream_auth_token.length > 4000)) return 'stream_auth_token must be a string of at most 4000 characters.';
  const pairs = custom_parameters === undefined || (Array.isArray(custom_parameters) && custom_parameters.every((p) => typeof p?.name === 'string' && typeof p?.value === 'string'));
  if (!pairs) return 'custom_parameters must be a list of {name, value} strings.';
  return undefined;
}

/**
 * Telnyx's side of a media stream: snake_case, `stream_id` at the top level, numbers as strings. To the app:
 * `connected`, `start`, `media`, `dtmf`, `mark` echoes, `error`, `stop`, each with `sequence_number` from "1". From
 * the app (bidirectional "rtp" mode): `media` whose payload is raw PCMU of 20 ms to 30 s (anything shorter gets an
 * `error` frame, malformed_frame 100003, and is not played), `mark` (named), `clear`; `stream_id` is optional.
 */
function telnyxProtocol(s: { streamId: string; userId: string; call: EmulatedCall; parameters: Record<string, string>; bidirectional: boolean }): StreamProtocol {
  const { streamId, userId, call } = s;
  const frame = (event: string, seq: string, body: Record<string, unknown>) => ({ event, sequence_number: seq, stream_id: streamId, ...body });
  return {
    connected: () => ({ event: 'connected', version: '1.0.0' }),
    start: (seq) =>
      frame('start', seq, {
        start: {
          user_id: userId,
          call_control_id: call.id,
          call_session_id: call.sessionId,
          from: call.from,
          to: call.to,
          tags: [],
          client_state: call.clientState,
          custom_parameters: s.parameters,
          media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 },
        },
      }),
    media: (seq, media) => frame('media', seq, { media }),
    dtmf: (seq, digit) => frame('dtmf', seq, { occurred_at: new Date().toISOString(), dtmf: { digit } }),
    mark: (seq, name) => frame('mark', seq, { mark: { name } }),
    stop: (seq) => frame('stop', seq, { stop: { user_id: userId, call_control_id: call.id } }),
    error: (seq, error) => frame('error', seq, { error }),
    read: (text) => readTelnyxMessage(text, streamId, s.bidirectional),
  };
}

const malformed = (detail: string): CarrierError => ({ title: 'malformed_frame', code: '100003', detail });

function readTelnyxMessage(text: string, streamId: string, bidirectional: boolean): ServerFrame {
  const message = parseMessage(text);
  if (typeof message === 'string') return { kind: 'rejected', violation: message, error: malformed('The frame is not a JSON object.') };
  const { event } = message;
  if (message.stream_id !== undefined && message.stream_id !== streamId) {
    return { kind: 'rejected', violation: `a ${String(event)} message with stream_id ${JSON.stringify(message.stream_id)} (the stream is ${streamId})` };
  }
  if (event === 'clear') return { kind: 'clear' };
  if (event === 'mark') {
    const name = (message.mark as { name?: unknown } | undefined)?.name;
    return typeof name === 'string' && name !== '' ? { kind: 'mark', name } : { kind: 'rejected', violation: 'a mark without a name', error: malformed('mark.name is required.') };
  }
  if (event !== 'media') return { kind: 'rejected', violation: `an unknown event ${JSON.stringify(event)}`, error: malformed(`Unknown event ${JSON.stringify(event)}.`) };
  if (!bidirectional) return { kind: 'rejected', violation: 'media on a stream that is not bidirectional (streaming_start without stream_bidirectional_mode "rtp")' };
  const payload = decodePayload((message.media as { payload?: unknown } | undefined)?.payload);
  if (!payload) return { kind: 'rejected', violation: 'a media message without a base64 payload', error: malformed('media.payload must be base64.') };
  if (payload.length < FRAME_BYTES || payload.length > 30_000 * BYTES_PER_MS) {
    return {
      kind: 'rejected',
      violation: `a media chunk of ${payload.length / BYTES_PER_MS} ms (${payload.length} bytes): Telnyx takes 20 ms to 30 s`,
      error: malformed('Media payload must hold between 20 ms and 30 s of audio.'),
    };
  }
  return { kind: 'media', payload };
}
