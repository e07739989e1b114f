import { UserError } from '../errors.js';
import { dispatchOutbound, type OutboundFlow } from '../scheduler/outbound.js';
import type { WorkItem } from '../scheduler/scheduler.js';
import type { PlaceCallRequest } from '../telephony/provider.js';
import { iso, nowIso } from '../time.js';
import { endAttempt } from './attempt-end.js';
import type { CallsContext } from './context.js';
import { hangUpOnPurpose } from './ending.js';
import { isWaiting, LIVE_SQL, WAITING_SQL } from './lifecycle.js';
import type { Call } from './records.js';

/** Starts one attempt of a due call: claim, checks, attempt row and `dialing` in one transaction, then the carrier. */
export function dispatchCall(c: CallsContext, item: WorkItem): boolean {
  return dispatchOutbound(c.store, c.scheduler, item, callFlow(c), c.log);
}

function callFlow(c: CallsContext): OutboundFlow<PlaceCallRequest, { providerCallId: string }> {
  return {
    prepare(callId) {
      const row = c.records.row(callId);
      if (!isWaiting(row.status)) return null;
      // Its mission is paused: the call waits, out of the queue, until the mission resumes.
      if (row.mission_id && c.linkedWork.isPaused(row.mission_id)) {
        if (row.status === 'queued') c.ledger.moveCall(row, 'scheduled');
        return null;
      }
      if (c.doNotContact.has(row.to_number)) {
        c.ledger.finishCall(row, 'failed', { code: 'do_not_contact', message: `${row.to_number} is on the do-not-contact list; the call was not placed.` });
        return null;
      }
      // Calling hours and the daily cap, as they stand now (the call may have waited, retried or outlived a restart).
      const verdict = c.guard.check('call', row.to_number, row.timezone);
      if (verdict.kind === 'refuse') {
        c.ledger.finishCall(row, 'failed', { code: verdict.code, message: `${verdict.message} The call was not placed.` });
        return null;
      }
      if (verdict.kind === 'defer') {
        c.ledger.deferCall(row, { until: iso(verdict.until), code: verdict.code, reason: verdict.reason });
        c.scheduler.enqueue('call', row.id, verdict.until);
        return null;
      }
      c.guard.record('call', row.to_number);
      const attempt = (c.store.sql('SELECT count(*) AS n FROM call_attempts WHERE call_id = ?').get(row.id) as { n: number }).n + 1;
      const startedAt = nowIso();
      c.store.sql(`INSERT INTO call_attempts (call_id, attempt, provider, status, started_at) VALUES (?, ?, ?, 'dialing', ?)`).run(row.id, attempt, c.provider.name, startedAt);
      c.deadlines.attemptStarted(Date.parse(startedAt));
      c.ledger.moveCall(row, 'dialing');
      if (row.mission_id && row.step_id) c.linkedWork.started(row.mission_id, row.step_id);
      return {
        callId: row.id,
        attempt,
        to: row.to_number,
        from: row.from_number!,
        mode: row.mode,
        message: row.message ?? undefined,
        amd: row.amd,
        voicemailMessage: row.voicemail_message ?? undefined,
        ringTimeoutSeconds: c.opts.ringTimeoutSeconds,
        maxDurationSeconds: c.opts.maxCallSeconds,
        idempotencyKey: `${row.id}-${attempt}`,
      };
    },
    send: (request) => c.provider.placeCall(request),
    accepted(request, { providerCallId }) {
      c.ledger.recordProviderId(request.callId, request.attempt, providerCallId);
      // Ended on purpose while the carrier was still taking the dial: the same hangup as for any end on purpose.
      if (c.records.row(request.callId).end_requested_at) {
        c.store.afterCommit(() => void hangUpOnPurpose(c, { call_id: request.callId, attempt: request.attempt, provider_call_id: providerCallId }));
      }
    },
    refused(request, carrier) {
      // A refusal the carrier says is final (bad number, bad credentials) is not worth a retry.
      endAttempt(c, request, 'failed', { cause: 'carrier_rejected', code: carrier.code, message: carrier.message }, carrier.retryable);
    },
  };
}

/**
 * For a call placed now: waits (briefly) until the carrier has taken or refused its first attempt, so a
 * refusal reaches the caller as an error rather than a status to discover later. A call that must wait
 * for a free line, or the time limit, returns as it stands.
 */
export async function confirmDial(c: CallsContext, callId: string, timeoutMs = 10_000): Promise<Call> {
  await c.store.changes.settle(
    (change) => change.kind === 'call' && change.id === callId,
    () => {
      const { status } = c.records.statusOf(callId);
      // Deferred by the guardrails at dispatch: it answers as it stands, `scheduled` with why.
      if (status === 'scheduled') return c.records.row(callId).deferred_until !== null;
      if (status === 'dialing') return c.records.currentAttempt(callId)?.provider_call_id != null;
      return true;
    },
    timeoutMs,
  );
  const call = c.records.get(callId);
  const first = call.attempts[0];
  if (call.status === 'failed' && first?.hangup_cause === 'carrier_rejected') {
    throw new UserError(
      `The carrier refused the call${first.error_code ? ` (code ${first.error_code})` : ''}: ${first.error_message ?? 'no reason given'}. Call ${callId} ended failed.`,
      { code: 'carrier_refused', hint: { see: 'call', callId } },
    );
  }
  // Refused before it reached the carrier (the number was blocked in the meantime): as much a refusal.
  if (call.status === 'failed' && !first && call.error) throw new UserError(`${call.error.message} Call ${callId} ended failed.`, { code: 'refused' });
  return call;
}

export function liveCount(c: CallsContext): number {
  return (c.store.sql(`SELECT count(*) AS n FROM calls WHERE status IN (${LIVE_SQL})`).get() as { n: number }).n;
}

/** A due call must wait for a line. */
export function markWaiting(c: CallsContext, callId: string): void {
  c.store.tx(() => {
    const row = c.records.row(callId);
    if (row.status === 'scheduled') c.ledger.moveCall(row, 'queued');
  });
}

/** Its mission paused: the mission's calls not yet dialed leave the queue and wait `scheduled`; live calls go on. */
export function holdForMission(c: CallsContext, missionId: string): void {
  const ids = c.store.sql(`SELECT id FROM calls WHERE mission_id = ? AND status IN (${WAITING_SQL})`).all(missionId) as { id: string }[];
  for (const { id } of ids) {
    c.scheduler.cancel(id);
    const row = c.records.row(id);
    if (row.status === 'queued') c.ledger.moveCall(row, 'scheduled');
  }
}

/** Its mission resumed: the calls it held are queued again at their time; the guardrails decide again at dispatch. */
export function releaseForMission(c: CallsContext, missionId: string): void {
  const rows = c.store
    .sql(
      `SELECT id, scheduled_at FROM calls WHERE mission_id = ? AND status IN (${WAITING_SQL})
         AND id NOT IN (SELECT ref_id FROM scheduled_work WHERE state = 'pending' AND kind = 'call')`,
    )
    .all(missionId) as { id: string; scheduled_at: string }[];
  for (const { id, scheduled_at } of rows) c.scheduler.enqueue('call', id, Math.max(c.scheduler.now(), Date.parse(scheduled_at)));
}
