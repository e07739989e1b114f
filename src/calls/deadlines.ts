import { EarliestTimer } from '../scheduler/earliest-timer.js';
import { endAttempt } from './attempt-end.js';
import type { CallsContext } from './context.js';
import { endUnconfirmed, HANGUP_CONFIRM_MS, hangupQuietly } from './ending.js';
import { LIVE_SQL } from './lifecycle.js';

type LiveAttempt = { call_id: string; attempt: number; provider_call_id: string | null; started_at: string; answered_at: string | null; end_requested_at: string | null };

/**
 * No call outlives its truth: every live attempt has a deadline that Switchboard enforces itself, whatever the carrier
 * says or fails to say. It is the attempt's start plus the ring timeout, SWITCHBOARD_MAX_CALL_SECONDS and a grace (the
 * carrier's own limit should end the call first), or, once its end was asked for, HANGUP_CONFIRM_MS after that. At its
 * deadline the carrier is asked to hang up and the attempt ends here, never retried, since the carrier may still hold
 * the call: `completed` with `max_duration_exceeded` when it was answered, else `failed`; a call ended on purpose
 * keeps its end reason. Deadlines derive from SQLite, so they hold across restarts; one timer is armed for the earliest.
 */
export class CallDeadlines {
  private c: CallsContext | undefined;
  private readonly timer = new EarliestTimer(() => this.fire());

  /** Starts enforcing; after recovery, so what the carrier says of a call left live by a crash comes first. */
  start(c: CallsContext): void {
    this.c = c;
    this.rearm();
  }

  stop(): void {
    this.c = undefined;
    this.timer.disarm();
  }

  /**
   * A new attempt or an end request adds one deadline, which can only bring the earliest one closer: it is armed
   * after commit without rescanning every live call (at hundreds of calls a second that scan dominated).
   */
  attemptStarted(startedAtMs: number): void {
    const c = this.c;
    if (c) c.store.afterCommit(() => this.timer.arm(startedAtMs + limitSeconds(c) * 1000));
  }

  endRequested(): void {
    this.c?.store.afterCommit(() => this.timer.arm(Date.now() + HANGUP_CONFIRM_MS));
  }

  private rearm(): void {
    const c = this.c;
    if (c) this.timer.arm(liveAttempts(c).reduce((earliest, a) => Math.min(earliest, deadlineOf(c, a)), Infinity));
  }

  private fire(): void {
    const c = this.c;
    if (!c) return;
    try {
      const now = Date.now();
      c.store.tx(() => {
        for (const a of liveAttempts(c)) if (deadlineOf(c, a) <= now) endPastDeadline(c, a);
      });
      this.rearm();
    } catch (err) {
      c.log.error({ err }, 'ending calls past their deadline failed; retrying in a second');
      this.timer.arm(Date.now() + 1000);
    }
  }
}

function endPastDeadline(c: CallsContext, a: LiveAttempt): void {
  const ref = { callId: a.call_id, attempt: a.attempt };
  if (a.end_requested_at) endUnconfirmed(c, ref, 'hangup_unconfirmed');
  else {
    const message = `Still live ${limitSeconds(c)} s after it started (ring timeout, SWITCHBOARD_MAX_CALL_SECONDS and a grace) with no end reported by the carrier, so Switchboard hung up; not retried.`;
    endAttempt(c, ref, a.answered_at ? 'completed' : 'failed', { cause: 'max_duration_exceeded', code: 'max_duration_exceeded', message }, false);
  }
  const providerCallId = a.provider_call_id;
  if (providerCallId) c.store.afterCommit(() => void hangupQuietly(c, providerCallId));
}

function deadlineOf(c: CallsContext, a: LiveAttempt): number {
  const byLength = Date.parse(a.started_at) + limitSeconds(c) * 1000;
  return a.end_requested_at ? Math.min(byLength, Date.parse(a.end_requested_at) + HANGUP_CONFIRM_MS) : byLength;
}

const limitSeconds = (c: CallsContext): number => c.opts.ringTimeoutSeconds + c.opts.maxCallSeconds + c.opts.deadlineGraceSeconds;

function liveAttempts(c: CallsContext): LiveAttempt[] {
  return c.store
    .sql(
      `SELECT a.call_id, a.attempt, a.provider_call_id, a.started_at, a.answered_at, c.end_requested_at
       FROM calls c JOIN call_attempts a ON a.call_id = c.id
       WHERE c.status IN (${LIVE_SQL}) AND a.status IN (${LIVE_SQL})`,
    )
    .all() as LiveAttempt[];
}
