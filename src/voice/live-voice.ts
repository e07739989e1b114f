import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { AgentPlan } from './engine.js';
import type { AttemptRef, LiveVoicePort, MediaListener, StreamStart } from './media-port.js';
import type { RealtimeSettings } from './realtime.js';
import { VoiceCall, type VoiceCallSink } from './voice-call.js';

export type LiveVoiceDeps = {
  settings: RealtimeSettings;
  log: Logger;
  /** What the agent on this attempt is to do; undefined when the attempt is unknown. */
  plan(ref: AttemptRef): AgentPlan | undefined;
  /** The attempt is ringing or in progress. */
  isLive(ref: AttemptRef): boolean;
  /** Records what happens on the call (the sink's events) against the attempt. */
  sink(ref: AttemptRef): Omit<VoiceCallSink, 'closed'>;
};

type Entry = { ref: AttemptRef; call: VoiceCall; token: string; claimed: boolean };

/** How often live sessions are checked: stalled media padded, sessions of calls that ended unanswered closed. */
const TICK_MS = 250;

/**
 * Live voice for every agent call: one realtime session per attempt, opened while the call rings, and the
 * per-attempt tokens the carriers' media sockets must present. A token is good once, and only while its attempt
 * is live; a socket without one is closed before any audio flows.
 */
export class LiveVoice implements LiveVoicePort {
  private readonly byCall = new Map<string, Entry>();
  private readonly byToken = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly deps: LiveVoiceDeps) {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** An agent call is ringing: open its model session now, so the first words are not late. */
  prepare(ref: AttemptRef): void {
    this.entry(ref);
  }

  /** The call was answered: the token its media stream must present (the opening line is generated meanwhile). */
  streamToken(ref: AttemptRef): string | undefined {
    const entry = this.entry(ref);
    if (!entry) return undefined;
    entry.call.answered();
    return entry.token;
  }

  claim(start: StreamStart): MediaListener | undefined {
    const entry = start.token ? this.byToken.get(start.token) : undefined;
    if (!entry || entry.claimed || !this.deps.isLive(entry.ref)) return undefined;
    entry.claimed = true;
    this.byToken.delete(entry.token);
    return entry.call.attach(start.leg);
  }

  stop(): void {
    clearInterval(this.timer);
    for (const entry of [...this.byCall.values()]) entry.call.close();
  }

  private entry(ref: AttemptRef): Entry | undefined {
    const existing = this.byCall.get(ref.providerCallId);
    if (existing) return existing;
    const plan = this.deps.plan(ref);
    if (!plan) return undefined;
    const sink = this.deps.sink(ref);
    const token = randomBytes(24).toString('base64url');
    const log = this.deps.log.child({ callId: ref.callId, providerCallId: ref.providerCallId });
    const entry: Entry = {
      ref,
      token,
      claimed: false,
      call: new VoiceCall(plan, this.deps.settings, { ...sink, closed: () => this.forget(entry) }, log),
    };
    this.byCall.set(ref.providerCallId, entry);
    this.byToken.set(token, entry);
    return entry;
  }

  private forget(entry: Entry): void {
    this.byCall.delete(entry.ref.providerCallId);
    this.byToken.delete(entry.token);
  }

  private tick(): void {
    const now = Date.now();
    for (const entry of this.byCall.values()) {
      // A call that ended before its stream joined (no answer, busy, a machine) frees its model session.
      if (!entry.claimed && !this.deps.isLive(entry.ref)) entry.call.close();
      else entry.call.tick(now);
    }
  }
}
