import { fromJsonText } from '../json.js';
import { iso, nowIso } from '../time.js';
import type { CallsContext } from './context.js';
import { attemptMachine, callMachine, END_REASONS, RETRYABLE_ENDS, type CallEnd, type RetryableEnd } from './lifecycle.js';
import type { CallRetryPolicy } from './records.js';

export type EndDetail = { cause?: string; code?: string; message?: string; at?: string };

/**
 * An attempt ended. The call is then retried by its policy (a new attempt, same call_id) or finishes with this
 * outcome. A call ended on purpose is never retried, and one that was never answered ends `canceled`.
 */
export function endAttempt(c: CallsContext, ref: { callId: string; attempt: number }, status: CallEnd, detail: EndDetail, allowRetry = true): void {
  const attempt = c.records.attempt(ref.callId, ref.attempt);
  if (!attempt) return;
  const endedOnPurpose = c.records.row(ref.callId).end_reason;
  if (endedOnPurpose) {
    allowRetry = false;
    if (!attempt.answered_at && status !== 'failed') status = 'canceled';
  }
  if (!attemptMachine.canMove(attempt.status, status)) return;
  // Carrier clocks may be coarser than ours (Twilio sends whole seconds); an end never precedes the start.
  const at = [detail.at ?? nowIso(), attempt.started_at].sort()[1];
  c.ledger.moveAttempt(attempt, status, { hangup_cause: detail.cause ?? null, error_code: detail.code ?? null, error_message: detail.message ?? null, ended_at: at });
  if (!c.ledger.isCurrent(attempt)) return;
  const row = c.records.row(ref.callId);
  if (callMachine.isTerminal(row.status)) return;
  const retry = fromJsonText<CallRetryPolicy>(row.retry);
  const retryable = (RETRYABLE_ENDS as readonly string[]).includes(status) && retry?.on.includes(status as RetryableEnd);
  if (allowRetry && retry && retryable && ref.attempt < retry.max_attempts) {
    const dueMs = c.scheduler.now() + retry.interval_seconds * 1000;
    c.ledger.moveCall(row, 'scheduled', { scheduled_at: iso(dueMs) });
    c.scheduler.enqueue('call', row.id, dueMs);
    if (row.mission_id) {
      c.linkedWork.note(row.mission_id, {
        type: 'call_retry',
        step_id: row.step_id,
        summary: `Call ${row.id} to ${row.to_number} ended ${status.replace('_', ' ')}; attempt ${ref.attempt + 1} of ${retry.max_attempts} at ${iso(dueMs)}.`,
        payload: { call_id: row.id, attempt: ref.attempt + 1, status, due_at: iso(dueMs) },
      });
    }
  } else {
    const error = endedOnPurpose
      ? END_REASONS[endedOnPurpose]
      : detail.message || detail.code
        ? { code: detail.code ?? null, message: detail.message ?? describeEnd(status, detail) }
        : null;
    c.ledger.finishCall(row, status, error, at);
  }
  // A line is free again.
  c.scheduler.wake();
}

function describeEnd(status: CallEnd, detail: { cause?: string; code?: string }): string {
  const why = [detail.cause, detail.code && `code ${detail.code}`].filter(Boolean).join(', ');
  return `The carrier ended the call ${status.replace('_', ' ')}${why ? ` (${why})` : ''}.`;
}
