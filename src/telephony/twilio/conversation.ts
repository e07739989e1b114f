import type { Logger } from '../../log.js';
import { CarrierError, type AnsweredBy, type CallRef, type Heard, type ProviderContext, type VoiceLine } from '../provider.js';
import { twilioGatherUrl } from './paths.js';
import { isCallGone } from './request.js';
import { renderVoiceTwiml, type Verb } from './twiml.js';

/** The REST requests a conversation line makes: replace the call's TwiML, or end the call. */
export type TwilioCallUpdates = {
  redirect(callSid: string, twiml: string): Promise<void>;
  hangup(callSid: string): Promise<void>;
};

/** The conversation calls running in this process, by CallSid, and the Twilio callbacks that drive them. */
export type TwilioConversations = {
  /**
   * An answered conversation call (outbound, or inbound with the `client` handler): hands a new line to the
   * conversation and returns the TwiML that opens it. A repeated voice webhook gets the live line's TwiML again;
   * one for a call whose conversation is over (`fresh` false: a replay) is hung up.
   */
  answer(ref: CallRef, answeredBy: AnsweredBy | null, fresh: boolean): string;
  /** The callback of document `step`: its Say played, or its Gather ended with `speech` (none on silence); `fresh` false for a repeat. */
  callback(callSid: string, step: number, speech: string | undefined, fresh: boolean): Promise<string>;
  /** Twilio reported the call over. */
  ended(callSid: string): void;
};

const HANGUP = renderVoiceTwiml([{ verb: 'hangup' }]);

export function createTwilioConversations(ctx: ProviderContext, publicUrl: string, rest: TwilioCallUpdates): TwilioConversations {
  const log = ctx.log.child({ carrier: 'twilio' });
  const lines = new Map<string, TwilioConversationLine>();

  return {
    answer(ref, answeredBy, fresh) {
      const live = lines.get(ref.providerCallId);
      if (live) return live.document;
      if (!fresh) return HANGUP;
      const attempt = ref.callId !== undefined && ref.attempt !== undefined ? { callId: ref.callId, attempt: ref.attempt } : undefined;
      const line = new TwilioConversationLine(ref.providerCallId, answeredBy, (step) => twilioGatherUrl(publicUrl, attempt, step), rest, log);
      lines.set(ref.providerCallId, line);
      log.info({ providerCallId: ref.providerCallId, callId: ref.callId }, 'Twilio conversation call answered; the conversation takes the line');
      // Not awaited: the voice webhook answers at once. A conversation that ends without hanging up still ends the call.
      void ctx
        .converse(ref, line)
        .catch((err: unknown) => log.error({ err, providerCallId: ref.providerCallId }, 'conversation failed; hanging up'))
        .then(() => line.hangup())
        .catch((err: unknown) => log.warn({ err, providerCallId: ref.providerCallId }, 'could not hang up a finished conversation call'))
        .finally(() => lines.get(ref.providerCallId) === line && lines.delete(ref.providerCallId));
      return line.document;
    },
    async callback(callSid, step, speech, fresh) {
      return (await lines.get(callSid)?.callback(step, speech, fresh)) ?? HANGUP;
    },
    ended(callSid) {
      lines.get(callSid)?.end();
      lines.delete(callSid);
    },
  };
}

type Say = { text: string; done: () => void; failed: (err: unknown) => void };

/**
 * A Twilio call as a conversation sees it, spoken with Twilio's TTS (`<Say>`) and heard with its speech recognition
 * (`<Gather input="speech">`). Twilio runs one TwiML document at a time; each one we hand out ends in a callback to
 * `/webhooks/twilio/gather?step=N`, and our answer is the next document:
 *
 * - speaking: `<Say>text</Say><Redirect>` — Twilio fetches the Redirect only once the Say has played, so `say()`
 *   resolves when the callee has heard the sentence (not when Twilio accepted it), and the next queued Say follows
 *   in the Redirect's answer: sentences never cut each other off, and a `say` then `hangup` is heard whole.
 * - listening: `<Gather input="speech" action>` (+ a Redirect, should the Gather ever fall through): its action
 *   brings one complete utterance (`SpeechResult`), or nothing after a few seconds of silence; either way we answer
 *   with the next Say if one is queued, else the Gather again.
 *
 * Only a Say that comes while Twilio sits in the Gather loop needs the REST API: `calls(sid).update({ twiml })`
 * replaces the Gather at once (what the callee was saying in that instant is lost). The callee is not heard while we
 * speak (no barge-in), nor in the round trip between a Say and the Gather after it.
 *
 * A callback for any other step than the current one is stale: a Gather that ended while the update replacing it was
 * on its way. Its speech is kept, and it is answered with a standby Gather (a step of its own) that the update
 * overtakes: Twilio drops a pending webhook answer for the TwiML an update brings, and if our answer got there first,
 * the update replaces it before anything was played twice.
 *
 * The call opens with a bare Redirect (step 0) rather than a Gather, so the first sentences need no REST update
 * racing the voice webhook's answer (an inbound call is not even in progress until Twilio has that answer).
 */
export class TwilioConversationLine implements VoiceLine {
  /** The last step handed out, and the one whose callback moves the conversation on (the document Twilio runs). */
  private issued = 0;
  private current = 0;
  /** The current document, served again to a repeated voice webhook. */
  document: string;
  private speaking: Say | null = null;
  private listening = false;
  private readonly queue: Say[] = [];
  private readonly heard: Heard[] = [];
  private readonly waiting: ((heard: Heard) => void)[] = [];
  private over = false;

  constructor(
    private readonly callSid: string,
    readonly answeredBy: AnsweredBy | null,
    private readonly url: (step: number) => string,
    private readonly rest: TwilioCallUpdates,
    private readonly log: Logger,
  ) {
    this.document = renderVoiceTwiml([{ verb: 'redirect', url: url(0) }]);
  }

  say(text: string): Promise<void> {
    if (this.over || !text.trim()) return Promise.resolve(); // an empty <Say> is a TwiML error on Twilio
    return new Promise((done, failed) => {
      this.queue.push({ text, done, failed });
      if (this.listening) void this.interrupt();
    });
  }

  listen(): Promise<Heard> {
    const next = this.heard.shift();
    if (next) return Promise.resolve(next);
    if (this.over) return Promise.resolve({ kind: 'hangup' });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  pressDigits(): Promise<void> {
    return Promise.reject(new CarrierError('Twilio conversation calls do not press keys.', 'unsupported'));
  }

  /** Ends the call over REST; a call Twilio no longer has is over already. */
  async hangup(): Promise<void> {
    if (this.over) return;
    try {
      await this.rest.hangup(this.callSid);
    } catch (err) {
      if (!isCallGone(err)) throw err;
    }
    this.end();
  }

  /** The call is over: the Say being played resolves, listeners hear the hangup (after what was heard before), queued Says resolve. */
  end(): void {
    if (this.over) return;
    this.over = true;
    this.listening = false;
    this.speaking?.done();
    this.speaking = null;
    for (const resolve of this.waiting.splice(0)) resolve({ kind: 'hangup' });
    for (const say of this.queue.splice(0)) say.done();
  }

  /**
   * Twilio is done with document `step`: answers with the document to run next. `fresh` is false for a repeat of a
   * callback already handled, which changes nothing.
   */
  async callback(step: number, speech: string | undefined, fresh: boolean): Promise<string> {
    if (this.over) return HANGUP;
    if (!fresh) return this.standby();
    if (speech) this.hear({ kind: 'speech', text: speech });
    if (step !== this.current) return this.standby();
    const said = this.speaking;
    if (said) {
      said.done();
      // A conversation says its sentences one after another: the next one, said as soon as this one resolves, is
      // played right after it rather than over REST after a Gather began.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.over) return HANGUP;
    }
    return this.advance(this.queue.shift() ?? null);
  }

  /** Moves on to the next document: `next` said, or the Gather loop. */
  private advance(next: Say | null): string {
    this.current = ++this.issued;
    const url = this.url(this.current);
    this.speaking = next;
    this.listening = next === null;
    this.document = renderVoiceTwiml(next ? [{ verb: 'say', text: next.text }, { verb: 'redirect', url }] : listening(url));
    return this.document;
  }

  /** A Gather under a step of its own, for a stale or repeated callback: it keeps the callee heard until the update lands. */
  private standby(): string {
    return renderVoiceTwiml(listening(this.url(++this.issued)));
  }

  /** A Say while Twilio listens: nothing will call us back until the Gather ends, so replace it over REST. */
  private async interrupt(): Promise<void> {
    const say = this.queue.shift()!;
    const document = this.advance(say);
    try {
      await this.rest.redirect(this.callSid, document);
    } catch (err) {
      if (isCallGone(err)) return this.end();
      if (this.over || this.speaking !== say) return;
      // Twilio still runs the old Gather (whose callback, now stale, gets a standby Gather): listen on.
      this.log.warn({ providerCallId: this.callSid, code: err instanceof CarrierError ? err.code : undefined }, 'Twilio refused a conversation Say; listening on');
      this.advance(null);
      say.failed(err);
      if (this.queue.length > 0) void this.interrupt();
    }
  }

  private hear(heard: Heard): void {
    const resolve = this.waiting.shift();
    if (resolve) resolve(heard);
    else this.heard.push(heard);
  }
}

const listening = (url: string): Verb[] => [
  { verb: 'listen', action: url },
  { verb: 'redirect', url },
];
