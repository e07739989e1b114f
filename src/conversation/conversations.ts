import { EventEmitter } from 'node:events';
import { callMachine, type CallStatus } from '../calls/lifecycle.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import { AI_DISCLOSURE, INBOUND_DISCLOSURE, withDisclosure } from '../voice/disclosure.js';
import type { CallMode, VoiceLine } from '../voice/engine.js';

/** What a conversation call hears while its client is away, and when the client seems gone for good. */
export const HOLD_LINE = 'One moment, please.';
export const GOODBYE = 'I am sorry, I have to end the call now. Goodbye!';
/** An inbound call waiting for a client to take it. */
export const INBOUND_HOLD = 'Please hold while I find someone to take your call.';
export const TAKE_MESSAGE = 'Sorry, nobody can take your call right now. I will pass on a message: what would you like to say?';
export const MESSAGE_TAKEN = 'Thank you, your message has been recorded. Goodbye!';

export type ConversationSettings = {
  /** No continue_call / speak_to_user for this long: the callee hears HOLD_LINE. */
  holdMs: number;
  /** No client for this long: the callee hears GOODBYE and the call ends. */
  goodbyeMs: number;
  /** An inbound call nobody claims for this long is offered to leave a message. */
  unclaimedMs: number;
};

/** What the engine records, as it happens. */
export type ConversationSink = {
  turn(speaker: 'agent' | 'callee', text: string): void;
  /** The call's outcome, when the conversation decides it (a message taken for nobody). */
  report(outcome: string, summary: string): void;
  /** Wakes waiters: an inbound call is ready to be claimed. */
  ringing(): void;
};

/** What continue_call answers: the callee's next utterance, or null and why. */
export type Turn = { heard: string | null; reason?: 'timeout' | 'hangup'; turn: number };

type Waiter = (turn: Turn) => void;

/**
 * One live conversation call: the carrier's text line on one side (its speech synthesis and recognition), the MCP
 * client on the other, turn by turn. Speech is said in order by one speaker loop; one listener loop reads every
 * utterance the line hears into a queue the client consumes with continue_call, so nothing said is ever lost.
 */
class LiveConversation {
  private speaking: Promise<void> = Promise.resolve();
  private readonly unheard: string[] = [];
  private waiter: Waiter | undefined;
  private turns = 0;
  ended = false;
  claimed: boolean;
  private lastClientAt = Date.now();
  private held = false;
  private leaving = false;
  private takingMessage = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly callId: string,
    private readonly line: VoiceLine,
    private readonly sink: ConversationSink,
    private readonly settings: ConversationSettings,
    private readonly log: Logger,
    private readonly inbound: boolean,
  ) {
    this.claimed = !inbound;
    this.timer = setInterval(() => this.watchClient(), Math.max(50, Math.min(1000, settings.holdMs / 4)));
    this.timer.unref();
  }

  /** Runs until the line hangs up. */
  async run(opening: string, early: readonly string[]): Promise<void> {
    this.say(opening);
    for (const text of early) this.speak(text);
    if (this.inbound) {
      this.say(INBOUND_HOLD);
      this.sink.ringing();
    }
    for (;;) {
      const heard = await this.line.listen();
      if (heard.kind === 'hangup') break;
      if (heard.kind !== 'speech' || !heard.text.trim()) continue;
      this.sink.turn('callee', heard.text.trim());
      if (this.takingMessage) {
        this.takingMessage = false;
        this.sink.report('message_left', `The caller left a message: ${heard.text.trim()}`);
        this.say(MESSAGE_TAKEN);
        await this.speaking;
        await this.line.hangup().catch(() => undefined);
        continue;
      }
      this.unheard.push(heard.text.trim());
      this.deliver();
    }
    this.end();
  }

  /** Speaks `message` if given, then answers with the oldest utterance the client has not had yet, or waits for one. */
  async continue(message: string | undefined, timeoutMs: number, onWait: () => void): Promise<Turn> {
    if (this.waiter) throw new UserError(`Another continue_call is already waiting on call ${this.callId}; wait for it to return.`);
    this.clientActive();
    if (message) this.say(message);
    if (this.unheard.length) return { heard: this.unheard.shift()!, turn: ++this.turns };
    if (this.ended) return { heard: null, reason: 'hangup', turn: this.turns };
    return new Promise<Turn>((resolve) => {
      const progress = setInterval(onWait, 5000);
      const done = (turn: Turn) => {
        clearTimeout(timeout);
        clearInterval(progress);
        this.waiter = undefined;
        this.clientActive();
        resolve(turn);
      };
      const timeout = setTimeout(() => done({ heard: null, reason: 'timeout', turn: this.turns }), timeoutMs);
      this.waiter = done;
    });
  }

  speak(message: string): void {
    this.clientActive();
    this.say(message);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    this.waiter?.({ heard: null, reason: 'hangup', turn: this.turns });
  }

  private deliver(): void {
    if (this.waiter && this.unheard.length) this.waiter({ heard: this.unheard.shift()!, turn: ++this.turns });
  }

  /** Queues a sentence; each is recorded as it starts to be said. */
  private say(text: string): void {
    this.speaking = this.speaking.then(async () => {
      if (this.ended) return;
      this.sink.turn('agent', text);
      try {
        await this.line.say(text);
      } catch (err) {
        this.log.warn({ err: (err as Error).message, callId: this.callId }, 'the carrier could not say a line');
      }
    });
  }

  private clientActive(): void {
    this.claimed = true;
    this.lastClientAt = Date.now();
    this.held = false;
  }

  /**
   * A client that went away never leaves a person on a dead line: after a while the callee hears that we are still
   * there, later a goodbye. An inbound call nobody took is offered to leave a message.
   */
  private watchClient(): void {
    if (this.ended || this.waiter || this.takingMessage || this.leaving) return;
    const idle = Date.now() - this.lastClientAt;
    if (!this.claimed) {
      if (idle >= this.settings.unclaimedMs) {
        this.takingMessage = true;
        this.say(TAKE_MESSAGE);
      }
      return;
    }
    if (idle >= this.settings.goodbyeMs) {
      this.leaving = true;
      this.say(GOODBYE);
      void this.speaking.then(() => this.line.hangup()).catch(() => undefined);
    } else if (idle >= this.settings.holdMs && !this.held) {
      this.held = true;
      this.say(HOLD_LINE);
    }
  }
}

/**
 * Conversation calls, which the MCP client drives turn by turn (`continue_call`, `speak_to_user`): outbound calls
 * with `mode: "conversation"`, and accepted inbound calls when the client takes them (SWITCHBOARD_INBOUND_HANDLER=client).
 */
export class Conversations {
  private readonly live = new Map<string, LiveConversation>();
  /** Speech queued with speak_to_user before the call was answered: said right after the opening. */
  private readonly early = new Map<string, string[]>();
  private readonly started = new EventEmitter().setMaxListeners(0);

  constructor(
    private readonly settings: ConversationSettings,
    private readonly log: Logger,
    /** Where a call stands, for one not connected yet (throws NotFoundError for an unknown id). */
    private readonly callInfo: (callId: string) => { mode: CallMode; status: CallStatus },
  ) {}

  /** Runs a conversation over the carrier's line until it hangs up. The opening is the disclosure, then `message`. */
  async run(call: { callId: string; message: string | null; inbound: boolean; owner?: string }, line: VoiceLine, sink: ConversationSink): Promise<void> {
    const conversation = new LiveConversation(call.callId, line, sink, this.settings, this.log, call.inbound);
    this.live.set(call.callId, conversation);
    try {
      if (call.owner) sink.turn('callee', `(the owner, ${call.owner}, is calling)`);
      const opening = call.inbound ? INBOUND_DISCLOSURE : (withDisclosure(call.message) ?? AI_DISCLOSURE);
      const early = this.early.get(call.callId) ?? [];
      this.early.delete(call.callId);
      this.started.emit(call.callId);
      await conversation.run(opening, early);
    } finally {
      conversation.end();
      this.live.delete(call.callId);
    }
  }

  /** On a call still ringing (or queued), waits for it to connect, within the same timeout. */
  async continueCall(callId: string, message: string | undefined, timeoutMs: number, onWait: () => void): Promise<Turn> {
    const deadline = Date.now() + timeoutMs;
    const live = this.live.get(callId);
    const conversation = live ?? (await this.connected(callId, message, timeoutMs));
    if (!conversation) return { heard: null, reason: this.isOpen(callId) ? 'timeout' : 'hangup', turn: 0 };
    // A message given before the call connected was said after the opening already.
    return conversation.continue(live ? message : undefined, Math.max(0, deadline - Date.now()), onWait);
  }

  /** Queues speech; on a call not connected yet, it is said right after the opening. */
  speakToUser(callId: string, message: string): void {
    const conversation = this.live.get(callId);
    if (conversation && !conversation.ended) return conversation.speak(message);
    this.refuseUnlessOpen(callId);
    this.early.set(callId, [...(this.early.get(callId) ?? []), message]);
  }

  /** Calls a client could take now: inbound calls ringing through that nobody has claimed. */
  unclaimedInbound(): string[] {
    return [...this.live.values()].filter((c) => !c.claimed && !c.ended).map((c) => c.callId);
  }

  stop(): void {
    for (const c of this.live.values()) c.end();
  }

  /**
   * Waits for an open conversation call to connect (a message given meanwhile is said after the opening), or
   * undefined when it ended first or the time ran out.
   */
  private async connected(callId: string, message: string | undefined, timeoutMs: number): Promise<LiveConversation | undefined> {
    this.refuseUnlessOpen(callId);
    if (message) this.early.set(callId, [...(this.early.get(callId) ?? []), message]);
    return new Promise((resolve) => {
      const check = () => {
        const conversation = this.live.get(callId);
        if (conversation) return finish(conversation);
        if (!this.isOpen(callId)) finish(undefined);
      };
      const finish = (conversation: LiveConversation | undefined) => {
        clearTimeout(timer);
        clearInterval(poll);
        this.started.off(callId, check);
        resolve(conversation);
      };
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      // A call that never connects (busy, no answer) has no conversation to announce it: look now and then.
      const poll = setInterval(check, 250);
      this.started.on(callId, check);
    });
  }

  /** A conversation call that has not ended (it may not have connected yet). */
  private isOpen(callId: string): boolean {
    const live = this.live.get(callId);
    if (live) return !live.ended;
    const { mode, status } = this.callInfo(callId);
    return mode === 'conversation' && !callMachine.isTerminal(status);
  }

  private refuseUnlessOpen(callId: string): void {
    if (!this.isOpen(callId)) {
      throw new UserError(`Call ${callId} is not a live conversation call: continue_call and speak_to_user work on calls placed with mode "conversation", or inbound calls, until they end.`);
    }
  }
}
