import { endAttempt } from './attempt-end.js';
import type { CallsContext } from './context.js';
import { END_REASONS, isLive, isWaiting, LIVE_SQL, OPEN_SQL, type EndReason } from './lifecycle.js';
import { reconcileAttempt } from './reconcile.js';

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
      c.deadlines.endRequested();
      const attempt = c.records.currentAttempt(callId);
      const providerCallId = attempt?.provider_call_id;
      // Without the carrier's id yet, the hangup follows as soon as the dial response brings it (see dispatch).
      if (attempt && providerCallId) c.store.afterCommit(() => void hangUpOnPurpose(c, { ...attempt, provider_call_id: providerCallId }));
    }
  });
}

/**
 * `end_call`: ends the call on purpose and resolves once it has ended: by the carrier's report or, when none comes
 * within HANGUP_CONFIRM_MS, by its deadline here. So the answer never shows a call still live.
 */
export async function endAndConfirm(c: CallsContext, callId: string): Promise<void> {
  endOnPurpose(c, callId, 'client');
  const ended = () => !isLive(c.records.statusOf(callId).status);
  // The deadline timer ends a silent call HANGUP_CONFIRM_MS after the request; the extra second is its turn.
  await c.store.changes.settle((change) => change.kind === 'call' && change.id === callId, ended, HANGUP_CONFIRM_MS + 1000);
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

/**
 * Hangs up a call ended on purpose. A carrier that no longer has the call live will report no end, so it is asked
 * how the call ended; a call it does not know at all ends here at once.
 */
export async function hangUpOnPurpose(c: CallsContext, a: { call_id: string; attempt: number; provider_call_id: string }): Promise<void> {
  try {
    if ((await c.provider.hangup(a.provider_call_id)) === 'hung_up') return;
    if ((await reconcileAttempt(c, a)) === 'unknown') endUnconfirmed(c, { callId: a.call_id, attempt: a.attempt }, 'unknown_to_carrier');
  } catch (err) {
    c.log.warn({ err, providerCallId: a.provider_call_id }, 'hangup failed; the call ends here unless the carrier reports its end in time');
  }
}

export async function hangupQuietly(c: CallsContext, providerCallId: string): Promise<void> {
  try {
    await c.provider.hangup(providerCallId);
  } catch (err) {
    c.log.warn({ err, providerCallId }, 'hangup failed');
  }
}
