import { CarrierError, type AnsweredBy, type Heard, type VoiceLine } from '../provider.js';
import { isCallGone } from './errors.js';
import { commandId, type TelnyxRest } from './rest.js';

/** What one webhook tells the conversation on its call: the callee said something, our speech ended, the call ended. */
export type LineInput = { kind: 'speech'; text: string } | { kind: 'spoken' } | { kind: 'hangup' };

/**
 * A conversation call (the MCP client talks turn by turn) as the core sees it, in text. Speech out is Telnyx TTS
 * (`speak`); speech in is Telnyx's own recognition (`transcription_start`), whose final results are the callee's
 * utterances. We chose transcription because it is the one Call Control recogniser that listens all the time and needs
 * nothing of ours: gather_using_speak collects DTMF only, gather_using_ai hands the turn to Telnyx's own AI, and a media
 * stream would need a recogniser of ours (the realtime model, only with SWITCHBOARD_VOICE=openai).
 *
 * Webhooks reach the line through `receive`, once each (the webhook inbox drops redeliveries first).
 */
export class TelnyxConversationLine implements VoiceLine {
  private readonly heard: Heard[] = [];
  private readonly waiting: ((heard: Heard) => void)[] = [];
  /** The say in progress, and after it every say queued behind it. */
  private speaking: Promise<void> = Promise.resolve();
  private speechEnded: (() => void) | null = null;
  private sent = 0;
  private over = false;

  constructor(
    private readonly callControlId: string,
    private readonly rest: TelnyxRest,
    readonly answeredBy: AnsweredBy | null,
  ) {}

  /** The call ended (either side hung up): nothing more is said or heard. */
  get closed(): boolean {
    return this.over;
  }

  /**
   * Speaks `text` after whatever was said before it, and resolves once Telnyx reports it played to the end
   * (call.speak.ended), or the call ended. Rejects with Telnyx's CarrierError when it refuses the speech.
   */
  say(text: string): Promise<void> {
    const turn = this.speaking.then(() => this.speak(text));
    this.speaking = turn.catch(() => undefined);
    return turn;
  }

  /** The callee's next complete utterance (in the order said, kept until asked for), or `hangup` once the call is over. */
  listen(): Promise<Heard> {
    const next = this.heard.shift();
    if (next) return Promise.resolve(next);
    if (this.over) return Promise.resolve({ kind: 'hangup' });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async pressDigits(digits: string): Promise<void> {
    if (this.over) return;
    await this.tolerateGone(() => this.rest.sendDtmf(this.callControlId, digits, commandId(`dtmf:${this.callControlId}:${++this.sent}`)));
  }

  /** Hangs up (a call already gone is fine); the line is closed at once, without waiting for call.hangup. */
  async hangup(): Promise<void> {
    if (this.over) return;
    // The same command_id as end_call's hangup, so Telnyx takes the two as one.
    await this.tolerateGone(() => this.rest.hangup(this.callControlId, commandId(`hangup:${this.callControlId}`)));
    this.close();
  }

  receive(input: LineInput): void {
    if (input.kind === 'hangup') return this.close();
    if (input.kind === 'spoken') {
      const ended = this.speechEnded;
      this.speechEnded = null;
      return ended?.();
    }
    if (this.over) return;
    const waiter = this.waiting.shift();
    if (waiter) waiter({ kind: 'speech', text: input.text });
    else this.heard.push({ kind: 'speech', text: input.text });
  }

  private async speak(text: string): Promise<void> {
    if (this.over) return;
    // Set before the command is sent: call.speak.ended may come in before Telnyx's answer to the command does.
    // One speak at a time, so the next call.speak.ended is this one's.
    const ended = new Promise<void>((resolve) => (this.speechEnded = resolve));
    try {
      await this.rest.speak(this.callControlId, text, commandId(`say:${this.callControlId}:${++this.sent}`));
    } catch (err) {
      this.speechEnded = null;
      if (err instanceof CarrierError && isCallGone(err)) return;
      throw err;
    }
    await ended;
  }

  private close(): void {
    if (this.over) return;
    this.over = true;
    this.speechEnded?.();
    this.speechEnded = null;
    for (const waiter of this.waiting.splice(0)) waiter({ kind: 'hangup' });
  }

  private async tolerateGone(send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (err) {
      if (!(err instanceof CarrierError && isCallGone(err))) throw err;
    }
  }
}
