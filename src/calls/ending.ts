import { endAttempt } from './attempt-end.js';
import type { CallsContext } from './context.js';
import { END_REASONS, isLive, isWaiting, LIVE_SQL, OPEN_SQL, type EndReason } from './lifecycle.js';

/** How long the carrier has to report the end of a call we hung up before Switchboard ends it itself. */
export const HANGUP_CONFIRM_MS = 5_000;

/**
 * The one path for ending a call on purpose (the client, its mission ending, its number blocked): undialed work
 * is canceled; a live call is marked so its end is never retried, then hung up once that mark is committed.
 */
export function endOnPurpose(c: CallsContext, callId: string, reason: EndReason): void {
  c.store.tx(() => {
    const row = c.records.row(callId);
    if (isWaiting(row.status)) {
      c.scheduler.cancel(callId);
      c.ledger.finishCall(row, 'canceled', END_REASONS[reason]);
    } else if (isLive(row.status)) {
      c.store.sql('UPDATE calls SET end_requested_at = coalesce(end_requested_at, ?), end_reason = coalesce(end_reason, ?) WHERE id = ?').run(new Date().toISOString(), reason, callId);
      // The carrier now has HANGUP_CONFIRM_MS to report the end before the call's deadline ends it here.
      c.deadlines.changed();
      const providerCallId = c.records.currentAttempt(callId)?.provider_call_id;
      // Without the carrier's id yet, the hangup follows as soon as the dial response brings it (see dispatch).
      if (providerCallId) c.store.afterCommit(() => void hangupQuietly(c, providerCallId));
    }
  });
}

/** Every call of a mission that ended stops: none is dialed again. Inside the transaction that ended it. */
export function endForMission(c: CallsContext, missionId: string): void {
  const ids = c.store.sql(`SELECT id FROM calls WHERE mission_id = ? AND status IN (${OPEN_SQL})`).all(missionId) as { id: string }[];
  for (const { id } of ids) endOnPurpose(c, id, 'mission_ended');
}

/** A number went on the do-not-contact list: its live calls are hung up now (scheduled ones are refused at dispatch). */
export function endForNumber(c: CallsContext, number: string): void {
  const ids = c.store.sql(`SELECT id FROM calls WHERE to_number = ? AND status IN (${LIVE_SQL})`).all(number) as { id: string }[];
  for (const { id } of ids) endOnPurpose(c, id, 'do_not_contact');
}

/**
 * A call ended on purpose whose end the carrier did not report ends here: with its end reason, never retried, and
 * `canceled` when it was never answered (see endAttempt). A late report from the carrier then changes nothing.
 */
export function endUnconfirmed(c: CallsContext, ref: { callId: string; attempt: number }, cause: string): void {
  c.store.tx(() => endAttempt(c, ref, 'completed', { cause }, false));
}

export async function hangupQuietly(c: CallsContext, providerCallId: string): Promise<void> {
  try {
    await c.provider.hangup(providerCallId);
  } catch (err) {
    c.log.warn({ err, providerCallId }, 'hangup failed');
  }
}
