import { randomBytes } from 'node:crypto';
import { humanize } from '../../insights/schema.js';
import {
  CALL_MODES,
  type AnsweredBy,
  type CallEnd,
  type CallEvent,
  type CallRef,
  type CarrierEvent,
  type Heard,
  type PlaceCallRequest,
  type ProviderContext,
  type SendSmsRequest,
  type TelephonyProvider,
  type VoiceLine,
} from '../provider.js';
import type { SimDirectory, SimPerson } from './directory.js';

/**
 * The simulated phone network: in-process, no keys. Each dialed number is answered (or not) by the
 * person the directory lists, who talks to the voice agent in text. Every delay is multiplied by `timeScale`.
 */
export class SimCarrier implements TelephonyProvider {
  readonly name = 'sim';
  readonly defaultFromNumber = '+15550100000';
  readonly supportedModes = CALL_MODES;
  readonly webhooks = [];
  readonly mediaStreams = [];
  private readonly live = new Map<string, SimCall>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly ctx: ProviderContext,
    private readonly directory: SimDirectory,
    readonly timeScale: number,
  ) {}

  async placeCall(req: PlaceCallRequest): Promise<{ providerCallId: string }> {
    const providerCallId = `sim-call-${randomBytes(8).toString('hex')}`;
    const call = new SimCall(this, providerCallId, req, this.directory.lookup(req.to));
    this.live.set(providerCallId, call);
    this.later(0, () => void call.play().finally(() => this.live.delete(providerCallId)));
    return { providerCallId };
  }

  /**
   * Where a simulated person lives, for calling hours: their directory `timezone`; for made-up numbers in area code
   * 555 (the built-in people's), which no zone map places, where Switchboard runs; otherwise the number says.
   */
  timezoneOf(number: string): string | undefined {
    return this.directory.lookup(number).timezone ?? (FICTIONAL.test(number) ? LOCAL_ZONE : undefined);
  }

  async hangup(providerCallId: string): Promise<'hung_up' | 'gone'> {
    const call = this.live.get(providerCallId);
    if (!call) return 'gone';
    call.end('hangup_by_switchboard');
    return 'hung_up';
  }

  /** The simulated network lives in this process: it still holds its live calls, and none from before a restart. */
  async callState(ref: CallRef): Promise<CallEvent[] | 'unknown'> {
    return this.live.has(ref.providerCallId) ? [] : 'unknown';
  }

  async sendSms(req: SendSmsRequest): Promise<{ providerMessageId: string }> {
    const providerMessageId = `sim-sms-${randomBytes(8).toString('hex')}`;
    const person = this.directory.lookup(req.to);
    this.later(0.5, () => {
      this.emit({ type: 'sms.sent', providerMessageId, at: now() });
      this.later(0.5, () => {
        if (person.behavior === 'fail') {
          this.emit({ type: 'sms.failed', providerMessageId, errorCode: 'sim_unreachable', errorMessage: 'The simulated number cannot receive messages.', at: now() });
          return;
        }
        this.emit({ type: 'sms.delivered', providerMessageId, at: now() });
        if (person.sms_reply) {
          const reply = person.sms_reply;
          this.later(2, () =>
            this.emit({ type: 'sms.inbound', providerMessageId: `sim-sms-${randomBytes(8).toString('hex')}`, from: req.to, to: req.from, body: reply, at: now() }),
          );
        }
      });
    });
    return { providerMessageId };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const call of this.live.values()) call.abandon();
    this.live.clear();
  }

  /**
   * A simulated person calls our number, as if from the network: the inbound policy decides, and an accepted call is
   * answered and handed to whoever takes inbound calls. The caller behaves as the directory lists `from`.
   */
  receiveCall(from: string, to = this.defaultFromNumber): void {
    const decision = this.ctx.decideInbound(from, to);
    if (!decision.accept) return;
    const providerCallId = `sim-call-${randomBytes(8).toString('hex')}`;
    const req: PlaceCallRequest = { callId: '', attempt: 1, to, from, mode: 'conversation', amd: 'off', ringTimeoutSeconds: 30, maxDurationSeconds: 3600, idempotencyKey: providerCallId };
    const call = new SimCall(this, providerCallId, req, this.directory.lookup(from), true);
    this.live.set(providerCallId, call);
    this.later(0, () => void call.play().finally(() => this.live.delete(providerCallId)));
  }

  /** A simulated person texts us, as if from the network. */
  receiveSms(from: string, to: string, body: string): void {
    this.emit({ type: 'sms.inbound', providerMessageId: `sim-sms-${randomBytes(8).toString('hex')}`, from, to, body, at: now() });
  }

  emit(event: CarrierEvent): void {
    if (this.stopped) return;
    try {
      this.ctx.deliver(null, [event]);
    } catch (err) {
      this.ctx.log.error({ err, event: event.type }, 'simulated carrier event could not be applied');
    }
  }

  converse(ref: CallRef, line: VoiceLine): Promise<void> {
    return this.ctx.converse(ref, line);
  }

  /** Runs `fn` after `seconds` of simulated time. */
  later(seconds: number, fn: () => void): void {
    if (this.stopped) return;
    const ms = seconds * this.timeScale * 1000;
    if (ms <= 0) {
      setImmediate(() => !this.stopped && fn());
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  sleep(seconds: number): Promise<void> {
    return new Promise((resolve) => this.later(seconds, resolve));
  }

  /** Simulated seconds a sentence takes to say. */
  speakingTime(text: string): number {
    return 0.4 + text.length * 0.05;
  }
}

const LOCAL_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
/** The sim's own made-up numbers: area code 555, which is not assigned anywhere. */
const FICTIONAL = /^\+1555\d{7}$/;

/** One simulated call: the ring, the person (or machine) at the other end, and the line the agent talks on. */
class SimCall implements VoiceLine {
  answeredBy: AnsweredBy | null = null;
  private ended = false;
  private answered = false;
  private agentDone = false;
  private atVoicemail = false;
  private heard: Heard[] = [];
  private waiting: ((h: Heard) => void) | null = null;
  private readonly ref: CallRef;
  /** The MCP client talks on this call (its turns are recorded by the conversation, not by the network). */
  private readonly conversation: boolean;
  private nextReply = 0;

  constructor(
    private readonly net: SimCarrier,
    providerCallId: string,
    private readonly req: PlaceCallRequest,
    private readonly person: SimPerson,
    private readonly inbound = false,
  ) {
    this.ref = inbound ? { providerCallId } : { providerCallId, callId: req.callId, attempt: req.attempt };
    this.conversation = req.mode === 'conversation';
  }

  async play(): Promise<void> {
    if (this.inbound) return this.playInbound();
    const { behavior } = this.person;
    if (behavior === 'fail') {
      await this.net.sleep(0.5);
      return this.finish('failed', 'network_failure', 'sim_unreachable', 'The simulated network could not connect the call.');
    }
    this.net.emit({ ...this.ref, type: 'call.ringing', at: now() });
    const busy = behavior === 'busy' || (behavior === 'busy_then_answer' && this.req.attempt <= this.person.busy_attempts);
    if (busy) {
      await this.net.sleep(1);
      return this.finish('busy', 'user_busy');
    }
    if (behavior === 'no_answer' || this.person.ring_seconds >= this.req.ringTimeoutSeconds) {
      await this.net.sleep(Math.min(this.person.ring_seconds, this.req.ringTimeoutSeconds));
      return this.finish('no_answer', 'ring_timeout');
    }
    await this.net.sleep(this.person.ring_seconds);
    if (this.ended) return;
    this.net.emit({ ...this.ref, type: 'call.answered', at: now() });
    this.answered = true;
    this.atVoicemail = behavior === 'voicemail';
    if (this.req.amd !== 'off') {
      this.answeredBy = this.atVoicemail ? 'machine' : 'human';
      this.net.emit({ ...this.ref, type: 'call.answered_by', answeredBy: this.answeredBy, at: now() });
    }
    // At time scale 0 simulated time does not pass, so the limit can never be reached.
    if (this.net.timeScale > 0) this.net.later(this.req.maxDurationSeconds, () => this.end('max_duration'));
    this.greet();
    await this.net.converse(this.ref, this).catch(() => undefined);
    this.end('agent_hangup');
  }

  /** Someone called us: the network reports the call, it is answered at once, and whoever takes it talks. */
  private async playInbound(): Promise<void> {
    this.net.emit({ type: 'call.inbound', providerCallId: this.ref.providerCallId, from: this.req.from, to: this.req.to, at: now() });
    this.net.emit({ ...this.ref, type: 'call.answered', at: now() });
    this.answered = true;
    await this.net.converse(this.ref, this).catch(() => undefined);
    this.end('agent_hangup');
  }

  // --- the line, as the voice agent uses it ---

  async say(text: string): Promise<void> {
    if (this.ended || this.agentDone) return;
    if (!this.conversation) this.net.emit({ ...this.ref, type: 'call.transcript', speaker: 'agent', text, at: now() });
    await this.net.sleep(this.net.speakingTime(text));
    if (this.atVoicemail) return;
    if (this.conversation) {
      const reply = this.reply(text);
      if (reply) this.callee(reply);
    } else if (text.trim().endsWith('?')) this.callee(this.answer(text));
  }

  listen(): Promise<Heard> {
    const next = this.heard.shift();
    if (next) return Promise.resolve(next);
    if (this.ended) return Promise.resolve({ kind: 'hangup' });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  async pressDigits(digits: string): Promise<void> {
    if (this.ended || this.agentDone) return;
    this.net.emit({ ...this.ref, type: 'call.dtmf', digits, at: now() });
    await this.net.sleep(0.3);
    if (digits === this.person.ivr_digit) this.callee(this.greeting());
    else {
      this.callee('Sorry, that is not a valid option. Goodbye.');
      this.net.later(1, () => this.end('ivr_invalid_option'));
    }
  }

  /** The agent is done talking; the call ends once its report is in (see `play`). A conversation ends at once. */
  async hangup(): Promise<void> {
    this.agentDone = true;
    if (this.conversation) this.end('hangup_by_switchboard');
  }

  // --- the person at the other end ---

  private greet(): void {
    const name = this.person.name ?? 'this number';
    if (this.atVoicemail) {
      const greeting = `Hi, you have reached ${name}. Please leave a message after the tone.`;
      this.callee(greeting);
      this.hear({ kind: 'beep' }, this.net.speakingTime(greeting) + 0.5);
    } else if (this.person.behavior === 'ivr') {
      this.callee(`Thank you for calling ${name}. For billing, press 9. To speak with a person, press ${this.person.ivr_digit}.`);
    } else if (!this.conversation) this.callee(this.greeting());
  }

  private greeting(): string {
    return this.person.name ? `Hello, ${this.person.name}, how can I help?` : 'Hello?';
  }

  /** Answers a question from the facts whose name it mentions. */
  private answer(question: string): string {
    const q = question.toLowerCase();
    const fact = Object.entries(this.person.facts).find(([key]) => q.includes(humanize(key).toLowerCase()));
    return fact ? `The ${humanize(fact[0])} is ${fact[1]}.` : "Sorry, I don't know about that.";
  }

  /**
   * In a conversation, the person answers what is asked of them: a question naming one of their facts (in words or
   * by key) gets it, any other question the next of their `replies`; statements get no answer.
   */
  private reply(said: string): string | undefined {
    const text = said.toLowerCase();
    const fact = Object.entries(this.person.facts).find(([key]) => text.includes(humanize(key).toLowerCase()) || text.includes(key.toLowerCase()));
    if (fact) return fact[1];
    if (!said.trim().endsWith('?')) return undefined;
    return this.person.replies[this.nextReply++];
  }

  private callee(text: string): void {
    const delay = this.net.speakingTime(text);
    this.net.later(delay, () => {
      if (this.ended) return;
      if (!this.conversation) this.net.emit({ ...this.ref, type: 'call.transcript', speaker: 'callee', text, at: now() });
      this.hear({ kind: 'speech', text }, 0);
    });
  }

  private hear(h: Heard, afterSeconds: number): void {
    this.net.later(afterSeconds, () => {
      if (this.ended) return;
      if (this.waiting) {
        const resolve = this.waiting;
        this.waiting = null;
        resolve(h);
      } else this.heard.push(h);
    });
  }

  /** Ends an answered call (the agent or callee hung up, or the time limit hit). */
  end(cause: string): void {
    if (this.ended) return;
    this.finish(this.atVoicemail ? 'voicemail' : this.answered ? 'completed' : 'canceled', cause);
  }

  /** The process is going away: the call just stops; the agent waiting on it is dropped, nothing more is recorded. */
  abandon(): void {
    this.ended = true;
    this.waiting = null;
  }

  private finish(status: CallEnd, cause: string, errorCode?: string, errorMessage?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.net.emit({ ...this.ref, type: 'call.ended', status, cause, errorCode, errorMessage, at: now() });
    const resolve = this.waiting;
    this.waiting = null;
    resolve?.({ kind: 'hangup' });
  }
}

const now = () => new Date().toISOString();
