import type { Logger } from '../log.js';
import type { AgentReport } from '../insights/insights.js';
import { nowIso } from '../time.js';
import { openingInstructions, sessionConfig } from './agent-session.js';
import type { AgentPlan } from './engine.js';
import type { MediaLeg, MediaListener } from './media-port.js';
import { BYTES_PER_MS, base64AudioMs, DTMF_DIGITS, MULAW_SILENCE } from './mulaw.js';
import { Playback, type Cut } from './playback.js';
import { RealtimeConnection, type RealtimeSettings, type ServerEvent } from './realtime.js';

/** What one live agent call reports to the rest of Switchboard, as it happens. */
export type VoiceCallSink = {
  transcript(speaker: 'agent' | 'callee', text: string, at: string): void;
  report(report: AgentReport): void;
  pressed(digits: string): void;
  latency(turn: TurnLatency): void;
  /** The agent cannot go on; the call ends `failed` with this reason (then retried by its policy). */
  failed(code: string, message: string): void;
  /** The session is over (hung up, failed, or never used); the hub forgets it. */
  closed(): void;
};

/** One callee turn's delay: callee stopped speaking → first model audio → first frame to the carrier. */
export type TurnLatency = { turn: number; modelMs: number; firstFrameMs: number; at: string };

/** What the callee hears when the agent cannot go on, in the carrier's own voice. */
export const APOLOGY = 'Sorry, the assistant on this call has run into a technical problem and has to hang up. Goodbye.';

/** Errors the model reports that leave the session usable: races and refusals of one request. */
const RECOVERABLE_ERRORS = new Set(['response_cancel_not_active', 'conversation_already_has_active_response', 'invalid_value', 'item_truncate_invalid']);
/** Agent audio held until the stream joins (the opening line, generated while the carrier says the disclosure); beyond this it is dropped. */
const MAX_EARLY_AUDIO_MS = 60_000;
/** Silence sent after a gap in the carrier's media, so the model's VAD can end a turn the carrier never finished. */
const SILENCE_1S = Buffer.alloc(1000 * BYTES_PER_MS, MULAW_SILENCE).toString('base64');
const INACTIVITY_MS = 750;
const MAX_GAP_MS = 10_000;

/**
 * One agent call: the carrier's media on one side, a realtime model session on the other. The model session opens
 * while the call rings; the opening line is generated as soon as the call is answered, while the carrier speaks
 * the disclosure, and held until the media stream joins. Barge-in is mark-driven (see Playback).
 */
export class VoiceCall {
  private readonly model: RealtimeConnection;
  private readonly playback = new Playback();
  private leg: MediaLeg | undefined;
  private ready = false;
  private greet = false;
  private greeted = false;
  private ended = false;
  private failure: { code: string; message: string } | undefined;
  /** Agent audio produced before the stream joined: the opening line. */
  private early: { itemId: string; base64: string }[] = [];
  private earlyMs = 0;
  private activeResponse: string | undefined;
  private readonly cutResponses = new Set<string>();
  /** Each agent item's transcript, until its audio has played (or been cut) and it is stored. */
  private readonly agentText = new Map<string, { text: string; at: string }>();
  private turn = 0;
  private stoppedAt: number | undefined;
  private modelAt: number | undefined;
  private speaking = false;
  private nextTimestamp: number | undefined;
  private lastMediaAt = 0;
  private hangUpWhenPlayed: NodeJS.Timeout | undefined;

  constructor(
    private readonly plan: AgentPlan,
    private readonly settings: RealtimeSettings,
    private readonly sink: VoiceCallSink,
    private readonly log: Logger,
  ) {
    this.model = new RealtimeConnection(settings, { event: (e) => this.onModelEvent(e), audio: (r, i, b) => this.onModelAudio(r, i, b), closed: (why) => this.onModelClosed(why) }, log);
  }

  /** The call was answered: ask for the opening line now, so it is ready when the stream joins. */
  answered(): void {
    this.greet = true;
    this.maybeGreet();
  }

  /** The carrier's media stream for this call joined. */
  attach(leg: MediaLeg): MediaListener {
    this.leg = leg;
    this.answered();
    if (this.failure) void this.apologize();
    for (const chunk of this.early.splice(0)) this.play(chunk.itemId, chunk.base64);
    // The opening line may be complete already: mark its end now, or we would never learn it has played.
    for (const mark of this.playback.flush()) leg.mark(mark);
    return {
      audio: (base64, timestampMs) => this.onCalleeAudio(base64, timestampMs),
      mark: (name) => this.onMark(name),
      dtmf: (digit) => this.onCalleeDigit(digit),
      ended: () => this.close(),
    };
  }

  /** Called by the hub a few times a second: pads a stalled stream with silence so the turn can end. */
  tick(now: number): void {
    if (this.speaking && this.leg && now - this.lastMediaAt > INACTIVITY_MS) {
      this.model.appendAudio(SILENCE_1S);
      this.lastMediaAt = now;
    }
  }

  /** Ends the session: the stream stopped, the call ended, or the engine is stopping. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.hangUpWhenPlayed);
    // Whatever the agent had said by now was heard up to the last acknowledged mark.
    for (const cut of this.playback.interrupt()) this.storeAgentTurn(cut.itemId, cut);
    this.model.close();
    this.sink.closed();
  }

  // --- model → carrier -------------------------------------------------------------------------

  private onModelEvent(e: ServerEvent): void {
    switch (e.type) {
      case 'session.created':
        this.model.send({ type: 'session.update', session: sessionConfig(this.plan, this.settings) });
        return;
      case 'session.updated':
        this.ready = true;
        this.maybeGreet();
        return;
      case 'input_audio_buffer.speech_started':
        this.speaking = true;
        this.stoppedAt = undefined;
        if (this.playback.playing) this.bargeIn();
        return;
      case 'input_audio_buffer.speech_stopped':
        this.speaking = false;
        this.stoppedAt = Date.now();
        this.modelAt = undefined;
        return;
      case 'conversation.item.input_audio_transcription.completed': {
        const text = String(e.transcript ?? '').trim();
        if (text) this.sink.transcript('callee', text, nowIso());
        return;
      }
      case 'response.created':
        this.activeResponse = idOf(e.response);
        return;
      case 'response.output_audio.done':
      case 'response.done':
        // The item's last chunk was sent: mark its end, so we learn when it has all played.
        if (this.leg) for (const mark of this.playback.flush()) this.leg.mark(mark);
        if (e.type === 'response.done' && this.activeResponse === idOf(e.response)) this.activeResponse = undefined;
        return;
      case 'response.output_audio_transcript.done': {
        const itemId = String(e.item_id);
        const entry = this.agentText.get(itemId);
        if (entry) entry.text = String(e.transcript ?? '');
        else this.agentText.set(itemId, { text: String(e.transcript ?? ''), at: nowIso() });
        if (this.cutResponses.has(String(e.response_id))) {
          if (!this.playback.progress(itemId)) this.agentText.delete(itemId); // cut before any of it played
          return;
        }
        // An item with no audio queued or held (text only) is stored now; one with audio, once it has played.
        if (!this.playback.progress(itemId) && !this.early.some((c) => c.itemId === itemId)) this.storeAgentTurn(itemId);
        return;
      }
      case 'response.function_call_arguments.done':
        void this.onFunctionCall(String(e.name), String(e.call_id), String(e.arguments ?? '{}'));
        return;
      case 'error':
        return this.onModelError(e.error as { type?: string; code?: string; message?: string } | undefined);
      default:
        return;
    }
  }

  private onModelAudio(responseId: string, itemId: string, base64: string): void {
    if (this.ended || this.cutResponses.has(responseId)) return; // late audio of a response the callee cut off
    if (!this.agentText.has(itemId)) this.agentText.set(itemId, { text: '', at: nowIso() });
    const now = Date.now();
    if (this.stoppedAt !== undefined && this.modelAt === undefined) this.modelAt = now;
    if (!this.leg) {
      if (this.earlyMs < MAX_EARLY_AUDIO_MS) this.early.push({ itemId, base64 });
      this.earlyMs += base64AudioMs(base64);
      return;
    }
    this.play(itemId, base64);
  }

  private play(itemId: string, base64: string): void {
    const leg = this.leg!;
    leg.sendAudio(base64);
    const mark = this.playback.sent(itemId, base64);
    if (mark) leg.mark(mark);
    if (this.stoppedAt !== undefined && this.modelAt !== undefined) {
      const now = Date.now();
      this.sink.latency({ turn: ++this.turn, modelMs: this.modelAt - this.stoppedAt, firstFrameMs: now - this.stoppedAt, at: nowIso() });
      this.stoppedAt = undefined;
    }
  }

  private onMark(name: string): void {
    const done = this.playback.echoed(name);
    if (done) {
      this.storeAgentTurn(done);
      this.playback.retire(done);
    }
    if (this.hangUpWhenPlayed && !this.playback.playing) this.hangUpNow();
  }

  /** The callee talked over the agent: stop the carrier's queued audio and cut the model's items at what was heard. */
  private bargeIn(): void {
    this.leg?.clear();
    if (this.activeResponse) this.cutResponses.add(this.activeResponse);
    for (const cut of this.playback.interrupt()) {
      this.model.send({ type: 'conversation.item.truncate', item_id: cut.itemId, content_index: 0, audio_end_ms: cut.audioEndMs });
      this.storeAgentTurn(cut.itemId, cut);
      this.playback.retire(cut.itemId);
    }
  }

  /** Stores an agent turn: all of it, or (cut off) the part the callee heard, by the share of its audio played. */
  private storeAgentTurn(itemId: string, cut?: Cut): void {
    const entry = this.agentText.get(itemId);
    if (!entry) return;
    this.agentText.delete(itemId);
    let text = entry.text.trim();
    if (cut && cut.audioEndMs < cut.sentMs && text) {
      const share = cut.audioEndMs / cut.sentMs;
      text = share <= 0 ? '' : `${text.slice(0, Math.ceil(text.length * share)).trimEnd()}…`;
    }
    if (text) this.sink.transcript('agent', text, entry.at);
  }

  // --- carrier → model -------------------------------------------------------------------------

  private onCalleeAudio(base64: string, timestampMs: number | undefined): void {
    this.lastMediaAt = Date.now();
    // A jump in the carrier's timestamps is audio it never sent (silence it suppressed): fill it in.
    if (timestampMs !== undefined) {
      if (this.nextTimestamp !== undefined && timestampMs > this.nextTimestamp + 20) {
        const gap = Math.min(timestampMs - this.nextTimestamp, MAX_GAP_MS);
        this.model.appendAudio(Buffer.alloc(Math.round(gap * BYTES_PER_MS), MULAW_SILENCE).toString('base64'));
      }
      this.nextTimestamp = timestampMs + base64AudioMs(base64);
    }
    this.model.appendAudio(base64);
  }

  private onCalleeDigit(digit: string): void {
    this.sink.transcript('callee', `(pressed ${digit})`, nowIso());
    this.model.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `[The callee pressed the key ${digit}.]` }] } });
    if (!this.activeResponse) this.model.send({ type: 'response.create' });
  }

  // --- functions -------------------------------------------------------------------------------

  private async onFunctionCall(name: string, callId: string, rawArgs: string): Promise<void> {
    let args: Record<string, unknown>;
    try {
      args = JSON.parse(rawArgs) as Record<string, unknown>;
    } catch {
      return this.output(callId, { ok: false, error: 'arguments were not valid JSON' }, true);
    }
    switch (name) {
      case 'report_call': {
        const report = toReport(args, this.plan);
        if (typeof report === 'string') return this.output(callId, { ok: false, error: report }, true);
        this.sink.report(report);
        // The model now says goodbye and calls end_call.
        return this.output(callId, { ok: true }, true);
      }
      case 'send_dtmf': {
        const digits = typeof args.digits === 'string' ? args.digits : '';
        if (!DTMF_DIGITS.test(digits)) return this.output(callId, { ok: false, error: 'digits must be 1-32 of 0-9, *, #, A-D or w' }, true);
        try {
          await this.leg?.sendDigits(digits);
          this.sink.pressed(digits);
          // The menu answers with speech; the model replies to that, not to this.
          return this.output(callId, { ok: true }, false);
        } catch (err) {
          return this.output(callId, { ok: false, error: `the keys could not be sent: ${(err as Error).message}` }, true);
        }
      }
      case 'end_call':
        this.output(callId, { ok: true }, false);
        return this.endWhenPlayed();
      default:
        return this.output(callId, { ok: false, error: `no function named ${name}` }, true);
    }
  }

  private output(callId: string, result: Record<string, unknown>, respond: boolean): void {
    this.model.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output: JSON.stringify(result) } });
    if (respond) this.model.send({ type: 'response.create' });
  }

  /** Hangs up once every sample already sent has played (its mark came back), never mid-sentence. */
  private endWhenPlayed(): void {
    if (!this.playback.playing) return this.hangUpNow();
    if (this.leg) for (const mark of this.playback.flush()) this.leg.mark(mark);
    // Should the carrier never echo, the call still ends: a little after the queued audio would have played.
    this.hangUpWhenPlayed = setTimeout(() => this.hangUpNow(), 30_000);
  }

  private hangUpNow(): void {
    clearTimeout(this.hangUpWhenPlayed);
    this.hangUpWhenPlayed = undefined;
    const leg = this.leg;
    if (!leg) return;
    leg.hangUp().catch((err: Error) => this.log.warn({ err: err.message }, 'hanging up after end_call failed'));
  }

  // --- failure ---------------------------------------------------------------------------------

  private onModelError(error: { type?: string; code?: string; message?: string } | undefined): void {
    const code = error?.code ?? error?.type ?? 'unknown';
    if (RECOVERABLE_ERRORS.has(code) || (error?.type === 'invalid_request_error' && !error.code?.startsWith('session'))) {
      this.log.debug({ code, message: error?.message }, 'realtime error (the session goes on)');
      return;
    }
    this.fail(code, `the realtime model reported an error: ${error?.message ?? code}`);
  }

  private onModelClosed(why: { expected: boolean; status?: number; message: string }): void {
    if (why.expected || this.ended) return;
    this.fail(why.status === 429 ? 'rate_limited' : 'voice_model_unavailable', why.message);
  }

  private fail(code: string, message: string): void {
    if (this.failure || this.ended) return;
    this.failure = { code, message };
    this.log.warn({ code, message }, 'voice agent failed; apologising and ending the call');
    this.model.close();
    // Before the stream joins there is nobody to apologise to yet; attach() does it.
    if (this.leg) void this.apologize();
  }

  private async apologize(): Promise<void> {
    const { code, message } = this.failure!;
    this.sink.failed(code, message);
    try {
      await this.leg!.apologizeAndHangUp(APOLOGY);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not apologise; hanging up');
      await this.leg!.hangUp().catch(() => undefined);
    }
    this.close();
  }

  private maybeGreet(): void {
    if (!this.ready || !this.greet || this.greeted || this.failure) return;
    this.greeted = true;
    this.model.send({ type: 'response.create', response: { instructions: openingInstructions(this.plan) } });
  }
}

function idOf(response: unknown): string | undefined {
  return typeof response === 'object' && response !== null && typeof (response as { id?: unknown }).id === 'string' ? (response as { id: string }).id : undefined;
}

/** The model's report_call arguments as a report, or what is wrong with them (the model is told and may retry). */
function toReport(args: Record<string, unknown>, plan: AgentPlan): AgentReport | string {
  if (typeof args.outcome !== 'string' || !args.outcome.trim()) return 'outcome must be a short word such as completed';
  if (typeof args.summary !== 'string') return 'summary must be a sentence';
  const given = typeof args.fields === 'object' && args.fields !== null ? (args.fields as Record<string, unknown>) : {};
  const fields: Record<string, string | null> = {};
  for (const f of plan.fields) {
    const v = given[f.name];
    fields[f.name] = v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v);
  }
  return { outcome: args.outcome.trim().slice(0, 64), summary: args.summary.slice(0, 4000), fields };
}
