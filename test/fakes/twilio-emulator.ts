import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MediaCallee, mentions, type MediaCalleeOptions } from './media-callee.js';
import { decodePayload, MediaStream, parseMessage, type ServerFrame, type StreamEnd, type StreamProtocol } from './media-stream.js';

/**
 * A local stand-in for Twilio: the REST endpoints the SDK calls (Calls create/fetch/update, Messages create),
 * then the network side — it plays each call as scripted for the number dialled, fetches the voice URL
 * and posts status callbacks exactly as Twilio does (form posts signed with X-Twilio-Signature).
 *
 * TwiML with `<Connect><Stream url="…">` opens a real Media Streams WebSocket to the app, with a simulated person on
 * the line (media-callee.ts): see `stream()` and `twilioProtocol()` below. `<Gather input="speech">` hears a
 * text-level person (`Callee.conversation`) and posts what they said as Twilio's speech recognition would.
 */

export type AnsweredByValue = 'human' | 'machine_start' | 'machine_end_beep' | 'machine_end_silence' | 'machine_end_other' | 'fax' | 'unknown';

/** How a dialled number behaves. Defaults: a human answers, the SMS is delivered. */
export type Callee = {
  /** `manual`: the call rings until the test moves it on with `setStatus`. */
  outcome?: 'answer' | 'busy' | 'no-answer' | 'failed' | 'manual';
  /** Who picks up; reported only when the call asked for machine detection. */
  answeredBy?: AnsweredByValue;
  sipResponseCode?: number;
  errorCode?: string;
  /** Status callbacks are held and posted newest first once the call is over. */
  reverseCallbacks?: boolean;
  sms?: 'delivered' | 'undelivered' | 'failed';
  smsErrorCode?: string;
  /** The person on a `<Connect><Stream>` call (a silent one when unset). For an inbound call, keyed by the caller's number. */
  media?: MediaCalleeOptions;
  /** The person a speech `<Gather>` hears (a silent one, who never hangs up, when unset). Inbound: keyed by the caller's number. */
  conversation?: GatherCallee;
};

/**
 * A person in text, as Twilio's speech recognition hands them over. After each `<Say>` (or run of Says) they hear,
 * they answer at the next Gather: with the values of the `facts` whose key's words the sentences name, else (to a
 * question) with the next of their `replies`; statements, and questions once replies are used up, get no answer.
 */
export type GatherCallee = {
  /** Said at the first Gather instead of an answer to what they heard before it (a caller who speaks first: "Hello?"). */
  sayFirst?: string;
  facts?: Record<string, string>;
  replies?: string[];
  /** Hangs up as soon as they have heard this many Says. */
  hangupAfter?: number;
  /** Gathers each answer lets time out first (a person slow to reply). */
  pauses?: number;
  /** Never says a word: every Gather times out. */
  silent?: boolean;
  /** `questions` (default): statements get no reply; `everything`: every Say heard gets the next reply. */
  answer?: 'questions' | 'everything';
};

export type TwilioRestOp = 'calls.create' | 'calls.fetch' | 'calls.update' | 'messages.create';
export type TwilioRestError = { status: number; code: number; message: string };

/** One request the emulator made to the app, kept so a test can replay it byte for byte. */
export type SentWebhook = { url: string; params: Record<string, string>; headers: Record<string, string>; status: number; body: string };

export type EmulatedCall = {
  sid: string;
  to: string;
  from: string;
  /** The form the SDK posted to Calls.json. */
  request: URLSearchParams;
  status: string;
  /** Every TwiML document Twilio fetched for this call, and what the callee heard of it (cut off at TimeLimit). */
  twiml: string[];
  said: string[];
  hungUp: boolean;
  rejected: boolean;
  startedAt: Date;
  answeredAt?: Date;
  endedAt?: Date;
  /** What machine detection reported, when the call asked for it. */
  answeredBy?: string;
  /** Every `<Connect><Stream>` the call ran, in order: handshake, what the app sent, violations, how it ended. */
  streams: MediaStream[];
  /** The person on the far end of the call's streams, once one started. */
  callee?: MediaCallee;
  /** What the person said into speech Gathers (posted as `SpeechResult`), and how many Gathers the call ran. */
  replies: string[];
  gathers: number;
  /** The person hung up (`GatherCallee.hangupAfter`, or the emulator closing under a Gather). */
  personHungUp: boolean;
};

/** The TwiML a call runs, from one document to the next; a REST update bumps `generation` to replace the document. */
type Execution = { generation: number; next?: string; wake?: () => void };

/** What a Gather person has heard and not answered yet, and how far into their replies they are. */
type Listener = { unanswered: string[]; heard: number; repliesUsed: number; spokeFirst: boolean; paused: number };

export type EmulatedMessage = { sid: string; to: string; from: string; body: string; status: string };

export type PhoneNumberWebhooks = { voiceUrl: string; smsUrl: string; statusCallback?: string };

const TERMINAL = new Set(['completed', 'busy', 'no-answer', 'failed', 'canceled']);
type CallStatus = 'in-progress' | 'completed' | 'busy' | 'no-answer' | 'failed' | 'canceled';

export class TwilioEmulator {
  readonly calls = new Map<string, EmulatedCall>();
  readonly messages = new Map<string, EmulatedMessage>();
  /** REST requests in arrival order, failed ones included: proves what was (not) sent twice. */
  readonly restLog: { op: TwilioRestOp; status: number }[] = [];
  readonly webhooks: SentWebhook[] = [];
  /** What the Twilio console holds for our number: where inbound calls and texts go. */
  numberWebhooks: PhoneNumberWebhooks | null = null;
  private readonly playing = new Map<string, Promise<void>>();
  private readonly manual = new Set<string>();
  private readonly unheard = new Set<string>();
  private readonly callbackSequence = new Map<string, number>();
  private readonly failures: { op: TwilioRestOp; error: TwilioRestError }[] = [];
  /** How each call's far end behaves (read once per call: a test's getter may count dials). */
  private readonly people = new Map<string, Callee>();
  /** The stream each call is connected to right now, and the TwiML a REST update gave it to play next. */
  private readonly connected = new Map<string, { stream: MediaStream; redirect?: string }>();
  private readonly latency = new Map<TwilioRestOp, number>();
  private readonly executions = new Map<string, Execution>();
  private readonly listeners = new Map<string, Listener>();
  private readonly inbound = new Set<string>();
  private closing = false;
  /** Real milliseconds per second of TwiML time: how long a Gather nobody speaks into waits (its `timeout`), and a `<Pause>`. */
  secondMs = 10;
  private readonly server = createServer((req, res) => {
    this.route(req, res).catch((err: Error) => reply(res, 500, restError(500, 20500, err.message)));
  });
  private base = '';

  constructor(
    readonly accountSid: string,
    private readonly authToken: string,
    private readonly callees: Record<string, Callee> = {},
  ) {}

  get url(): string {
    return this.base;
  }

  /**
   * The settings of a Switchboard on this account whose listener (and so its status callbacks) will be on `port`.
   * Inbound calls and texts also need `numberWebhooks`, as the owner would paste them in the console.
   */
  switchboardEnv(port: number, fromNumber: string): Record<string, string> {
    return {
      SWITCHBOARD_PROVIDER: 'twilio',
      SWITCHBOARD_HTTP_PORT: String(port),
      SWITCHBOARD_PUBLIC_URL: `http://127.0.0.1:${port}`,
      SWITCHBOARD_TWILIO_API_URL: this.url,
      TWILIO_ACCOUNT_SID: this.accountSid,
      TWILIO_AUTH_TOKEN: this.authToken,
      SWITCHBOARD_FROM_NUMBER: fromNumber,
    };
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Ends live streams (`stop`, close: the network is going away) and Gathers (the person hangs up), then lets every call in flight finish its callbacks. */
  async close(): Promise<void> {
    this.closing = true;
    for (const { stream } of this.connected.values()) stream.end('emulator');
    for (const execution of this.executions.values()) execution.wake?.();
    await Promise.allSettled(this.playing.values());
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** The next `op` answers with this error instead of acting (e.g. a 500 once, then normal service). */
  failNext(op: TwilioRestOp, error: TwilioRestError): void {
    this.failures.push({ op, error });
  }

  /** From now on Twilio takes `ms` to answer each `op` (it is logged in `restLog` when answered). */
  slow(op: TwilioRestOp, ms: number): void {
    this.latency.set(op, ms);
  }

  /** Resolves once a call or message has played out and every callback was answered. */
  async finished(sid: string): Promise<void> {
    await this.playing.get(sid);
  }

  /**
   * Moves a `manual` call on as the network would: Twilio records the new status and posts its status callback.
   * `lost`: the callback never reaches Switchboard (it was down; Twilio does not retry status callbacks).
   */
  async setStatus(sid: string, status: CallStatus, opts: { lost?: boolean } = {}): Promise<void> {
    const call = this.calls.get(sid)!;
    const params = this.advance(call, status);
    if (params && !opts.lost && !this.unheard.has(sid)) await this.post(call.request.get('StatusCallback')!, params);
  }

  /** From now on the call's status callbacks are lost on the way to Switchboard; REST still works. */
  loseCallbacks(sid: string): void {
    this.unheard.add(sid);
  }

  /** Twilio drops its record of the call (as after a DELETE): REST answers 404 for it from now on. */
  forget(sid: string): void {
    this.calls.delete(sid);
  }

  /** Posts a form to the app as Twilio would; `signature` lets a test forge or drop the header. */
  async post(
    url: string,
    params: Record<string, string>,
    opts: { signature?: 'valid' | 'forged' | 'missing'; idempotencyToken?: string | null } = {},
  ): Promise<SentWebhook> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const token = opts.idempotencyToken === undefined ? randomUUID() : opts.idempotencyToken;
    if (token !== null) headers['i-twilio-idempotency-token'] = token;
    const signature = opts.signature ?? 'valid';
    if (signature === 'valid') headers['x-twilio-signature'] = this.sign(url, params);
    if (signature === 'forged') headers['x-twilio-signature'] = this.sign(url, { ...params, CallStatus: 'tampered' });
    return this.send({ url, params, headers });
  }

  /** Sends a recorded webhook again (same signature and idempotency token: a Twilio retry), or a doctored copy. */
  replay(webhook: Pick<SentWebhook, 'url' | 'params' | 'headers'>): Promise<SentWebhook> {
    return this.send(webhook);
  }

  /** Someone dials our number. */
  async inboundCall(from: string, to: string): Promise<{ call: EmulatedCall; response: SentWebhook }> {
    const hooks = this.requireNumberWebhooks();
    const call = this.newCall(from, to, new URLSearchParams());
    this.inbound.add(call.sid);
    const response = await this.post(hooks.voiceUrl, this.callParams(call, 'ringing'));
    const caller = this.callees[from] ?? {};
    this.people.set(call.sid, caller);
    const obeyed = this.run(call, response.body, caller);
    if (!call.rejected) this.advance(call, 'in-progress');
    // An answered call lasts until its TwiML is over (a stream or a Gather loop can hold it); then it completes, and
    // the number's status callback hears so.
    this.track(call.sid, call.rejected ? obeyed : obeyed.then(() => this.completeInbound(call, hooks)));
    return { call, response };
  }

  /** Someone texts our number. */
  inboundSms(from: string, to: string, body: string): Promise<SentWebhook> {
    const hooks = this.requireNumberWebhooks();
    const sid = `SM${randomBytes(16).toString('hex')}`;
    return this.post(hooks.smsUrl, { AccountSid: this.accountSid, ApiVersion: '2010-04-01', MessageSid: sid, SmsSid: sid, SmsStatus: 'received', From: from, To: to, Body: body, NumMedia: '0' });
  }

  /** Twilio's signature: base64 HMAC-SHA1, keyed by the auth token, over the URL then each sorted key and value. */
  sign(url: string, params: Record<string, string>): string {
    const data = Object.keys(params)
      .sort()
      .reduce((acc, key) => acc + key + params[key], url);
    return createHmac('sha1', this.authToken).update(data, 'utf8').digest('base64');
  }

  // --- REST ---

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    const path = new URL(req.url ?? '/', this.base).pathname;
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/(Calls|Messages)(?:\/([^/]+))?\.json$/.exec(path);
    const fetch = req.method === 'GET' && match?.[2] === 'Calls' && match[3] !== undefined;
    if (!match || !(req.method === 'POST' || fetch)) return reply(res, 404, restError(404, 20404, 'The requested resource was not found'));
    const [, account, resource, sid] = match;
    const op: TwilioRestOp = resource === 'Messages' ? 'messages.create' : fetch ? 'calls.fetch' : sid ? 'calls.update' : 'calls.create';
    const expected = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
    if (req.headers.authorization !== expected || account !== this.accountSid) return this.answer(res, op, 401, restError(401, 20003, 'Authenticate'));
    const latency = this.latency.get(op);
    if (latency) await new Promise((resolve) => setTimeout(resolve, latency));
    const injected = this.failures.findIndex((f) => f.op === op);
    if (injected >= 0) {
      const [{ error }] = this.failures.splice(injected, 1);
      return this.answer(res, op, error.status, restError(error.status, error.code, error.message));
    }
    if (op === 'calls.create') return this.createCall(res, form);
    if (op === 'calls.fetch') return this.fetchCall(res, sid!);
    if (op === 'calls.update') return this.updateCall(res, sid!, form);
    return this.createMessage(res, form);
  }

  private answer(res: ServerResponse, op: TwilioRestOp, status: number, body: object): void {
    this.restLog.push({ op, status });
    reply(res, status, body);
  }

  private createCall(res: ServerResponse, form: URLSearchParams): void {
    const to = form.get('To');
    const from = form.get('From');
    if (!to || !from || !form.get('Url')) return this.answer(res, 'calls.create', 400, restError(400, 21205, 'Url, To and From are required'));
    const call = this.newCall(from, to, form);
    this.answer(res, 'calls.create', 201, this.callResource(call));
    this.track(call.sid, this.play(call));
  }

  private fetchCall(res: ServerResponse, sid: string): void {
    const call = this.calls.get(sid);
    if (!call) return this.answer(res, 'calls.fetch', 404, restError(404, 20404, `The requested resource /Calls/${sid}.json was not found`));
    this.answer(res, 'calls.fetch', 200, this.callResource(call));
  }

  private updateCall(res: ServerResponse, sid: string, form: URLSearchParams): void {
    const call = this.calls.get(sid);
    if (!call) return this.answer(res, 'calls.update', 404, restError(404, 20404, `The requested resource /Calls/${sid}.json was not found`));
    const twiml = form.get('Twiml');
    if (twiml !== null && (TERMINAL.has(call.status) || call.personHungUp)) return this.answer(res, 'calls.update', 400, restError(400, 21220, 'Call is not in-progress. Cannot redirect.'));
    const hangingUp = form.get('Status') === 'completed' && !TERMINAL.has(call.status);
    if (hangingUp) call.hungUp = true;
    this.answer(res, 'calls.update', 200, this.callResource(call));
    const connected = this.connected.get(sid);
    const execution = this.executions.get(sid);
    if (hangingUp && connected) connected.stream.end('hangup');
    else if (twiml !== null && connected) {
      // New TwiML for a call in <Connect><Stream>: the stream stops (`stop`, close) and the new TwiML plays instead.
      connected.redirect = twiml;
      connected.stream.end('redirect');
    } else if (execution && (hangingUp || twiml !== null)) {
      // Whatever the call is doing (a Gather listening, a webhook on its way) is dropped: the new TwiML plays instead.
      execution.generation += 1;
      execution.next = hangingUp ? undefined : (twiml ?? undefined);
      execution.wake?.();
    } else if (twiml !== null) this.track(sid, this.run(call, twiml, this.people.get(sid) ?? {}));
    // A call the network is not playing out ends now: answered it completes, still ringing it is canceled.
    if (hangingUp && this.manual.has(sid)) this.track(sid, this.setStatus(sid, call.status === 'in-progress' ? 'completed' : 'canceled'));
  }

  private createMessage(res: ServerResponse, form: URLSearchParams): void {
    const to = form.get('To');
    const from = form.get('From');
    const body = form.get('Body');
    if (!to || !from || !body) return this.answer(res, 'messages.create', 400, restError(400, 21602, 'Message body is required'));
    const message: EmulatedMessage = { sid: `SM${randomBytes(16).toString('hex')}`, to, from, body, status: 'queued' };
    this.messages.set(message.sid, message);
    this.answer(res, 'messages.create', 201, { sid: message.sid, account_sid: this.accountSid, to, from, body, status: 'queued', direction: 'outbound-api', api_version: '2010-04-01' });
    this.track(message.sid, this.deliverMessage(message, form.get('StatusCallback')));
  }

  // --- the network side ---

  private async play(call: EmulatedCall): Promise<void> {
    const callee = this.callees[call.to] ?? {};
    this.people.set(call.sid, callee);
    const url = call.request.get('StatusCallback');
    const held: Record<string, string>[] = [];
    const report = async (status: string, extra: Record<string, string> = {}): Promise<void> => {
      const params = this.advance(call, status, extra);
      if (!params) return;
      if (callee.reverseCallbacks) held.push(params);
      else await this.post(url!, params);
    };
    await report('initiated');
    await report('ringing');
    const outcome = callee.outcome ?? 'answer';
    if (outcome === 'manual') this.manual.add(call.sid);
    else if (outcome === 'busy') await report('busy', { SipResponseCode: String(callee.sipResponseCode ?? 486) });
    else if (outcome === 'no-answer') await report('no-answer', { SipResponseCode: String(callee.sipResponseCode ?? 487) });
    else if (outcome === 'failed') await report('failed', { SipResponseCode: String(callee.sipResponseCode ?? 404), ...(callee.errorCode ? { ErrorCode: callee.errorCode } : {}) });
    else {
      await report('in-progress');
      const amd = this.answeredBy(call, callee);
      call.answeredBy = amd.AnsweredBy;
      const response = await this.post(call.request.get('Url')!, { ...this.callParams(call, 'in-progress'), ...amd });
      await this.run(call, response.body, callee);
      await report('completed', { CallDuration: String(this.talk(call)), ...amd });
    }
    for (const params of held.reverse()) await this.post(url!, params);
  }

  /**
   * The call's status at Twilio moves on; returns the status callback Twilio then posts, if the call asked for one.
   */
  private advance(call: EmulatedCall, status: string, extra: Record<string, string> = {}): Record<string, string> | undefined {
    call.status = status;
    if (status === 'in-progress') call.answeredAt = new Date();
    if (TERMINAL.has(status)) call.endedAt = new Date();
    const url = call.request.get('StatusCallback');
    const event = status === 'in-progress' ? 'answered' : status;
    if (!url || !(TERMINAL.has(status) || call.request.getAll('StatusCallbackEvent').includes(event))) return undefined;
    const sequence = this.callbackSequence.get(call.sid) ?? 0;
    this.callbackSequence.set(call.sid, sequence + 1);
    const duration = this.duration(call);
    return {
      ...this.callParams(call, status),
      ...(duration === null ? {} : { CallDuration: String(duration) }),
      ...extra,
      CallbackSource: 'call-progress-events',
      SequenceNumber: String(sequence),
      Timestamp: new Date().toUTCString(),
    };
  }

  /** Whole seconds from answer to end, rounded up as Twilio bills; none for a call not answered or not over. */
  private duration(call: EmulatedCall): number | null {
    if (!call.answeredAt || !call.endedAt) return null;
    return Math.max(1, Math.ceil((call.endedAt.getTime() - call.answeredAt.getTime()) / 1000));
  }

  /**
   * Plays what the call was told to say, a second to pick up and then a word a second, plus the real time its
   * streams lasted, and returns the seconds it lasted. At the call's TimeLimit Twilio hangs up: the callee hears
   * only the words said by then.
   */
  private talk(call: EmulatedCall): number {
    const streamedMs = call.streams.reduce((ms, s) => ms + (s.endedAt ?? Date.now()) - s.startedAt, 0);
    const limit = Number(call.request.get('TimeLimit') ?? Infinity);
    let seconds = 1;
    const heard: string[] = [];
    for (const text of call.said) {
      const words = text.split(' ');
      const fits = Math.min(words.length, limit - seconds);
      if (fits > 0) heard.push(words.slice(0, fits).join(' '));
      seconds += fits;
      if (fits < words.length) break;
    }
    call.said = heard;
    return seconds + Math.ceil(streamedMs / 1000);
  }

  /** Sync AMD: the result rides on the voice URL request; Enable reports at the start of a machine greeting. */
  private answeredBy(call: EmulatedCall, callee: Callee): Record<string, string> {
    const mode = call.request.get('MachineDetection');
    if (!mode) return {};
    const who = callee.answeredBy ?? 'human';
    const reported = mode === 'Enable' && who.startsWith('machine_end_') ? 'machine_start' : who;
    return { AnsweredBy: reported, MachineDetectionDuration: '2400' };
  }

  private async deliverMessage(message: EmulatedMessage, statusCallback: string | null): Promise<void> {
    const callee = this.callees[message.to] ?? {};
    const outcome = callee.sms ?? 'delivered';
    const steps = outcome === 'delivered' ? ['sent', 'delivered'] : outcome === 'undelivered' ? ['sent', 'undelivered'] : ['failed'];
    for (const status of steps) {
      message.status = status;
      if (!statusCallback) continue;
      const error: Record<string, string> = status === 'undelivered' || status === 'failed' ? { ErrorCode: callee.smsErrorCode ?? '30003' } : {};
      await this.post(statusCallback, {
        AccountSid: this.accountSid,
        ApiVersion: '2010-04-01',
        MessageSid: message.sid,
        SmsSid: message.sid,
        MessageStatus: status,
        SmsStatus: status,
        From: message.from,
        To: message.to,
        ...error,
      });
    }
  }

  /**
   * Runs a call's TwiML from `twiml` on: each document leads to the next (a Redirect, a Gather's action) until the
   * call's TwiML is over. A REST update with TwiML replaces the document running, whatever it was waiting for.
   */
  private async run(call: EmulatedCall, twiml: string, person: Callee): Promise<void> {
    const execution: Execution = { generation: 0, next: twiml };
    this.executions.set(call.sid, execution);
    try {
      while (execution.next !== undefined && !call.hungUp && !call.personHungUp) {
        const document = execution.next;
        execution.next = undefined;
        const generation = ++execution.generation;
        const follow = await this.obey(call, document, person, execution);
        // A document the app replaced meanwhile leads nowhere: the replacement (or the hangup) is what happens next.
        if (execution.generation === generation) execution.next = follow;
      }
    } finally {
      this.executions.delete(call.sid);
    }
  }

  /**
   * Reads one TwiML document and does what it says, verb by verb (only the verbs Switchboard uses); resolves with the
   * document it leads to, if any. Everything up to a `<Connect><Stream>`, `<Redirect>`, `<Gather>` or `<Pause>`
   * happens at once (so `said` is filled before this first awaits); a stream then holds the call until it ends.
   */
  private async obey(call: EmulatedCall, twiml: string, person: Callee, execution: Execution): Promise<string | undefined> {
    call.twiml.push(twiml);
    const generation = execution.generation;
    const replaced = () => execution.generation !== generation;
    for (const verb of parseTwiml(twiml)) {
      if (replaced()) return undefined;
      if (verb.verb === 'say') {
        if (this.hear(call, person, verb.text)) return undefined;
      } else if (verb.verb === 'pause') await this.wait(execution, verb.seconds);
      else if (verb.verb === 'hangup') return void (call.hungUp = true);
      else if (verb.verb === 'reject') return void (call.rejected = true);
      else if (verb.verb === 'redirect') return this.fetch(call, verb.url, {});
      else if (verb.verb === 'gather') {
        const heard = await this.gather(call, verb, person, execution);
        if (heard === 'hung_up' || replaced()) return undefined;
        if (heard !== undefined || verb.actionOnEmptyResult) {
          const speech: Record<string, string> = heard === undefined ? {} : { SpeechResult: heard, Confidence: '0.9123' };
          return verb.action ? this.fetch(call, verb.action, speech) : undefined;
        }
      } else {
        const { end, redirect } = await this.stream(call, verb, person);
        if (end === 'redirect') return redirect;
        // Only when the app closed the socket (or it never opened) does Twilio go on with the TwiML after </Connect>.
        if (end !== 'server' && end !== 'failed') return undefined;
      }
    }
    return undefined;
  }

  /** Asks the app what next (a Redirect, a Gather's action). An app that fails to answer ends the call, as on Twilio. */
  private async fetch(call: EmulatedCall, url: string, extra: Record<string, string>): Promise<string | undefined> {
    const response = await this.post(url, { ...this.callParams(call, 'in-progress'), ...extra });
    return response.status === 200 ? response.body : undefined;
  }

  /**
   * A speech `<Gather>`: its nested Says play, then the person answers what they heard (at once), or nobody speaks
   * and it times out. Resolves with what they said, undefined on silence, or `hung_up`.
   */
  private async gather(call: EmulatedCall, verb: GatherVerb, person: Callee, execution: Execution): Promise<string | 'hung_up' | undefined> {
    for (const inner of verb.nested) {
      if (inner.verb === 'say' && this.hear(call, person, inner.text)) return 'hung_up';
      if (inner.verb === 'pause') await this.wait(execution, inner.seconds);
    }
    call.gathers += 1;
    const reply = this.closing ? undefined : this.reply(call, person);
    if (reply !== undefined) {
      call.replies.push(reply);
      return reply;
    }
    if (!this.closing) await this.wait(execution, verb.timeout);
    if (!this.closing) return undefined;
    call.personHungUp = true; // the network is going away: the person on a Gather hangs up
    return 'hung_up';
  }

  /** The person hears a Say; true when they hang up on it. */
  private hear(call: EmulatedCall, person: Callee, text: string): boolean {
    call.said.push(text);
    const { conversation } = person;
    if (!conversation) return false;
    const listener = this.listener(call.sid);
    listener.unanswered.push(text);
    listener.heard += 1;
    if (conversation.hangupAfter === undefined || listener.heard < conversation.hangupAfter) return false;
    call.personHungUp = true;
    return true;
  }

  /** What the person says at a Gather: the facts the unanswered Says asked for, else their next reply; nothing when nothing was asked. */
  private reply(call: EmulatedCall, person: Callee): string | undefined {
    const { conversation } = person;
    if (!conversation || conversation.silent) return undefined;
    const listener = this.listener(call.sid);
    const first = !listener.spokeFirst && conversation.sayFirst !== undefined;
    if (!first && listener.unanswered.length === 0) return undefined;
    if (listener.paused < (conversation.pauses ?? 0)) {
      listener.paused += 1;
      return undefined;
    }
    listener.paused = 0;
    const asked = listener.unanswered.splice(0);
    if (first) {
      listener.spokeFirst = true;
      return conversation.sayFirst;
    }
    const facts = Object.entries(conversation.facts ?? {}).filter(([key]) => asked.some((text) => mentions(text, key)));
    if (facts.length > 0) return facts.map(([, value]) => value).join(' ');
    // Like the simulated people elsewhere, a person answers questions; a statement gets no reply.
    if (conversation.answer !== 'everything' && !asked.some((text) => text.trim().endsWith('?'))) return undefined;
    return conversation.replies?.[listener.repliesUsed++];
  }

  private listener(sid: string): Listener {
    let listener = this.listeners.get(sid);
    if (!listener) this.listeners.set(sid, (listener = { unanswered: [], heard: 0, repliesUsed: 0, spokeFirst: false, paused: 0 }));
    return listener;
  }

  /** Waits `seconds` of TwiML time, or until a REST update or the emulator closing wakes the call. */
  private wait(execution: Execution, seconds: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (execution.wake === done) execution.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, seconds * this.secondMs);
      execution.wake = done;
    });
  }

  /**
   * `<Connect><Stream>`: a bidirectional Media Streams WebSocket to the app, carrying the person on the line, held
   * until the app closes it or the call ends (REST hangup, new TwiML, the person hanging up, TimeLimit).
   */
  private async stream(call: EmulatedCall, verb: StreamVerb, person: Callee): Promise<{ end: StreamEnd; redirect?: string }> {
    const callee = (call.callee ??= new MediaCallee(person.media));
    const violations: string[] = [];
    let url = verb.url;
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    if (!parsed || !/^wss?:$/.test(parsed.protocol)) violations.push(`the stream URL ${JSON.stringify(url)} is not a wss:// URL`);
    if (parsed?.search) {
      // "The url does not support query string parameters": Twilio drops the query (or fails the handshake, 31920).
      violations.push(`the stream URL has a query string (${parsed.search}), which Twilio does not pass on`);
      parsed.search = '';
      url = parsed.toString();
    }
    for (const [name, value] of Object.entries(verb.parameters)) {
      if (name.length + value.length >= 500) violations.push(`<Parameter name="${name}"> is ${name.length + value.length} characters; Twilio allows under 500`);
    }
    const streamSid = `MZ${randomBytes(16).toString('hex')}`;
    const stream: MediaStream = new MediaStream({
      id: streamSid,
      url,
      parameters: verb.parameters,
      // Twilio signs the upgrade as it signs webhooks: over the stream URL as the TwiML gave it, with no params.
      headers: { 'x-twilio-signature': this.sign(url, {}) },
      protocol: twilioProtocol(streamSid, this.accountSid, call.sid, verb.parameters),
      callee,
      violations,
      onPersonHangup: () => stream.end('person'),
    });
    call.streams.push(stream);
    const connected: { stream: MediaStream; redirect?: string } = { stream };
    this.connected.set(call.sid, connected);
    const limit = Number(call.request.get('TimeLimit') ?? Infinity);
    const left = limit * 1000 - (Date.now() - (call.answeredAt ?? new Date()).getTime());
    const timeLimit = Number.isFinite(left) ? setTimeout(() => stream.end('time_limit'), Math.max(0, left)) : undefined;
    stream.open();
    const opened = await stream.opened;
    await this.streamStatus(call, verb, stream, opened ? 'stream-started' : 'stream-error');
    const end = await stream.ended;
    clearTimeout(timeLimit);
    this.connected.delete(call.sid);
    if (opened) await this.streamStatus(call, verb, stream, 'stream-stopped');
    return { end, redirect: connected.redirect };
  }

  /** `<Stream statusCallback>`: stream-started, stream-stopped, or stream-error (the only place a failed handshake shows). */
  private async streamStatus(call: EmulatedCall, verb: StreamVerb, stream: MediaStream, event: string): Promise<void> {
    if (!verb.statusCallback || this.unheard.has(call.sid)) return;
    await this.post(verb.statusCallback, {
      AccountSid: this.accountSid,
      CallSid: call.sid,
      StreamSid: stream.id,
      StreamName: verb.name ?? stream.id,
      StreamEvent: event,
      ...(event === 'stream-error' ? { StreamError: `Stream - WebSocket - Connection failed: ${stream.error ?? 'closed'}` } : {}),
      Timestamp: new Date().toISOString(),
    });
  }

  /** An inbound call whose stream is over completes; the number's status callback hears so. */
  private async completeInbound(call: EmulatedCall, hooks: PhoneNumberWebhooks): Promise<void> {
    if (TERMINAL.has(call.status)) return;
    call.status = 'completed';
    call.endedAt = new Date();
    if (!hooks.statusCallback || this.unheard.has(call.sid)) return;
    await this.post(hooks.statusCallback, { ...this.callParams(call, 'completed'), Direction: 'inbound', CallDuration: String(this.duration(call)) });
  }

  private newCall(from: string, to: string, request: URLSearchParams): EmulatedCall {
    const call: EmulatedCall = {
      sid: `CA${randomBytes(16).toString('hex')}`,
      to,
      from,
      request,
      status: 'queued',
      twiml: [],
      said: [],
      hungUp: false,
      rejected: false,
      startedAt: new Date(),
      streams: [],
      replies: [],
      gathers: 0,
      personHungUp: false,
    };
    this.calls.set(call.sid, call);
    return call;
  }

  private callParams(call: EmulatedCall, status: string): Record<string, string> {
    return {
      AccountSid: this.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: call.sid,
      CallStatus: status,
      Called: call.to,
      Caller: call.from,
      Direction: this.inbound.has(call.sid) ? 'inbound' : 'outbound-api',
      From: call.from,
      To: call.to,
    };
  }

  private callResource(call: EmulatedCall): object {
    return {
      sid: call.sid,
      account_sid: this.accountSid,
      to: call.to,
      from: call.from,
      status: call.hungUp ? 'completed' : call.status,
      start_time: rfc2822(call.startedAt),
      end_time: rfc2822(call.endedAt ?? null),
      duration: this.duration(call)?.toString() ?? null,
      answered_by: call.answeredBy ?? null,
      direction: 'outbound-api',
      api_version: '2010-04-01',
      uri: `/2010-04-01/Accounts/${this.accountSid}/Calls/${call.sid}.json`,
    };
  }

  private async send(webhook: Pick<SentWebhook, 'url' | 'params' | 'headers'>): Promise<SentWebhook> {
    // A connection per delivery, as from a carrier: a restarted sidecar never gets a request on its predecessor's socket.
    const headers = { ...webhook.headers, connection: 'close' };
    const res = await fetch(webhook.url, { method: 'POST', headers, body: new URLSearchParams(webhook.params).toString() });
    const sent: SentWebhook = { ...webhook, status: res.status, body: await res.text() };
    this.webhooks.push(sent);
    return sent;
  }

  /** Work `finished(sid)` waits for, after what was already tracked for the same call. */
  private track(sid: string, work: Promise<void>): void {
    const before = this.playing.get(sid) ?? Promise.resolve();
    this.playing.set(sid, Promise.all([before, work.catch(() => undefined)]).then(() => undefined));
  }

  private requireNumberWebhooks(): PhoneNumberWebhooks {
    if (!this.numberWebhooks) throw new Error('set emulator.numberWebhooks first, as you would in the Twilio console');
    return this.numberWebhooks;
  }
}

/** Twilio's date format: RFC 2822 in UTC. */
function rfc2822(date: Date | null): string | null {
  return date && date.toUTCString().replace('GMT', '+0000');
}

function restError(status: number, code: number, message: string): object {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

function reply(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const unescapeXml = (s: string): string =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

// --- TwiML and the Media Streams protocol ---

type StreamVerb = { verb: 'stream'; url: string; name?: string; statusCallback?: string; parameters: Record<string, string> };
type SayVerb = { verb: 'say'; text: string };
type PauseVerb = { verb: 'pause'; seconds: number };
type GatherVerb = { verb: 'gather'; action?: string; timeout: number; actionOnEmptyResult: boolean; attributes: Record<string, string | undefined>; nested: (SayVerb | PauseVerb)[] };
type TwimlVerb = SayVerb | PauseVerb | GatherVerb | { verb: 'redirect'; url: string } | { verb: 'hangup' } | { verb: 'reject' } | StreamVerb;

const TWIML_VERB = /<Say\b[^>]*>([\s\S]*?)<\/Say>|<Pause\b([^>]*?)\/?>|<Hangup\s*\/>|<Reject\b[^>]*>|<Redirect\b[^>]*>([\s\S]*?)<\/Redirect>|<Gather\b([^>]*?)(?:\/>|>([\s\S]*?)<\/Gather>)|<Connect\b[^>]*>([\s\S]*?)<\/Connect>/g;

/** The verbs of a TwiML document, in order: Say, Pause, Hangup, Reject, Redirect, Gather and Connect/Stream (the ones Switchboard uses). */
function parseTwiml(twiml: string): TwimlVerb[] {
  const verbs: TwimlVerb[] = [];
  for (const m of twiml.matchAll(TWIML_VERB)) {
    if (m[1] !== undefined) verbs.push({ verb: 'say', text: unescapeXml(m[1]) });
    else if (m[0].startsWith('<Pause')) verbs.push(pause(m[2] ?? ''));
    else if (m[0].startsWith('<Hangup')) verbs.push({ verb: 'hangup' });
    else if (m[0].startsWith('<Reject')) verbs.push({ verb: 'reject' });
    else if (m[3] !== undefined) verbs.push({ verb: 'redirect', url: unescapeXml(m[3].trim()) });
    else if (m[0].startsWith('<Gather')) {
      const attrs = attributes(m[4] ?? '');
      const nested = parseTwiml(m[5] ?? '').filter((v): v is SayVerb | PauseVerb => v.verb === 'say' || v.verb === 'pause');
      // Twilio's defaults: a 5 s timeout, and no action request when nothing was heard.
      verbs.push({ verb: 'gather', action: attrs.action, timeout: Number(attrs.timeout ?? 5), actionOnEmptyResult: attrs.actionOnEmptyResult === 'true', attributes: attrs, nested });
    } else {
      const stream = /<Stream\b([^>]*?)(?:\/>|>([\s\S]*?)<\/Stream>)/.exec(m[6] ?? '');
      if (!stream) continue;
      const attrs = attributes(stream[1]!);
      const parameters: Record<string, string> = {};
      for (const [param] of (stream[2] ?? '').matchAll(/<Parameter\b[^>]*>/g)) {
        const { name, value } = attributes(param);
        if (name !== undefined) parameters[name] = value ?? '';
      }
      verbs.push({ verb: 'stream', url: attrs.url ?? '', name: attrs.name, statusCallback: attrs.statusCallback, parameters });
    }
  }
  return verbs;
}

/** `<Pause length="N">`: one second by default. */
const pause = (tag: string): PauseVerb => ({ verb: 'pause', seconds: Number(attributes(tag).length ?? 1) });

function attributes(tag: string): Record<string, string | undefined> {
  return Object.fromEntries([...tag.matchAll(/([A-Za-z]+)="([^"]*)"/g)].map(([, key, value]) => [key, unescapeXml(value!)]));
}

/**
 * Twilio's side of a bidirectional Media Stream. To the app: `connected` (no sequence number), then `start`,
 * `media`, `dtmf`, `mark` echoes and `stop`, each with `sequenceNumber` ("1" on start, +1 per message) and
 * `streamSid`; numbers are strings. From the app: `media` (raw μ-law, base64), `mark` (named), `clear`, each with
 * the stream's `streamSid`. Twilio has no error frame: what it cannot use it ignores (recorded as a violation).
 */
function twilioProtocol(streamSid: string, accountSid: string, callSid: string, customParameters: Record<string, string>): StreamProtocol {
  const frame = (event: string, sequenceNumber: string, body: Record<string, unknown>) => ({ event, sequenceNumber, streamSid, ...body });
  return {
    connected: () => ({ event: 'connected', protocol: 'Call', version: '1.0.0' }),
    start: (seq) =>
      frame('start', seq, {
        start: { streamSid, accountSid, callSid, tracks: ['inbound'], customParameters, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
      }),
    media: (seq, media) => frame('media', seq, { media }),
    dtmf: (seq, digit) => frame('dtmf', seq, { dtmf: { track: 'inbound_track', digit } }),
    mark: (seq, name) => frame('mark', seq, { mark: { name } }),
    stop: (seq) => frame('stop', seq, { stop: { accountSid, callSid } }),
    error: () => undefined,
    read: (text) => readTwilioMessage(text, streamSid),
  };
}

function readTwilioMessage(text: string, streamSid: string): ServerFrame {
  const message = parseMessage(text);
  if (typeof message === 'string') return { kind: 'rejected', violation: message };
  const { event } = message;
  if (event !== 'media' && event !== 'mark' && event !== 'clear') return { kind: 'rejected', violation: `an unknown event ${JSON.stringify(event)}` };
  // Every message to Twilio names its stream; one without it, or for another stream, does nothing.
  if (message.streamSid !== streamSid) return { kind: 'rejected', violation: `a ${event} message with streamSid ${JSON.stringify(message.streamSid)} (the stream is ${streamSid})` };
  if (event === 'clear') return { kind: 'clear' };
  if (event === 'mark') {
    const name = (message.mark as { name?: unknown } | undefined)?.name;
    return typeof name === 'string' && name !== '' ? { kind: 'mark', name } : { kind: 'rejected', violation: 'a mark without a name' };
  }
  const payload = decodePayload((message.media as { payload?: unknown } | undefined)?.payload);
  if (!payload?.length) return { kind: 'rejected', violation: 'a media message without a base64 payload' };
  // Raw μ-law only: "Providing header bytes causes the media to be streamed incorrectly".
  if (payload.subarray(0, 4).toString('latin1') === 'RIFF' || payload.subarray(0, 4).toString('latin1') === '.snd') {
    return { kind: 'rejected', violation: 'a media payload with a WAV/AU header (Twilio wants raw μ-law)' };
  }
  return { kind: 'media', payload };
}
