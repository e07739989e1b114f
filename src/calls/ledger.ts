import type { Insights } from '../insights/insights.js';
import type { LinkedWork } from '../missions/linked-work.js';
import type { Store } from '../store/store.js';
import type { CallRef } from '../telephony/provider.js';
import { nowIso } from '../time.js';
import { attemptMachine, callMachine, type AttemptStatus, type CallEnd, type CallStatus } from './lifecycle.js';
import type { Deferred } from '../guardrails/outbound-guard.js';
import type { AttemptRow, CallRecords, CallRow } from './records.js';

type CallColumns = Partial<Pick<CallRow, 'answered_at' | 'ended_at' | 'scheduled_at' | 'error_code' | 'error_message'>>;
type AttemptColumns = Partial<Pick<AttemptRow, 'answered_at' | 'ended_at' | 'hangup_cause' | 'error_code' | 'error_message'>>;

/**
 * Writing calls: the one place a call's or an attempt's status changes, each checked against its state machine,
 * with the step the call serves and the announcement that follows the commit. Call inside a transaction.
 */
export class CallLedger {
  constructor(
    private readonly store: Store,
    readonly records: CallRecords,
    private readonly insights: Insights,
    private readonly linkedWork: LinkedWork,
    private readonly providerName: string,
  ) {}

  moveCall(row: CallRow, to: CallStatus, extra: CallColumns = {}): void {
    callMachine.assertMove(row.status, to, `call ${row.id}`);
    const cols = Object.keys(extra) as (keyof CallColumns)[];
    const sets = ['status = ?', 'updated_at = ?', ...cols.map((c) => `${c} = ?`)].join(', ');
    this.store.sql(`UPDATE calls SET ${sets} WHERE id = ?`).run(to, nowIso(), ...cols.map((c) => extra[c] ?? null), row.id);
    row.status = to;
    this.announce(row.id, row.mission_id);
  }

  moveAttempt(attempt: AttemptRow, to: AttemptStatus, extra: AttemptColumns = {}): void {
    attemptMachine.assertMove(attempt.status, to, `call ${attempt.call_id} attempt ${attempt.attempt}`);
    const cols = Object.keys(extra) as (keyof AttemptColumns)[];
    // answered_at is set once: a late or repeated answer never moves it.
    const sets = ['status = ?', ...cols.map((c) => (c === 'answered_at' ? `${c} = coalesce(${c}, ?)` : `${c} = ?`))].join(', ');
    this.store.sql(`UPDATE call_attempts SET ${sets} WHERE call_id = ? AND attempt = ?`).run(to, ...cols.map((c) => extra[c] ?? null), attempt.call_id, attempt.attempt);
    attempt.status = to;
  }

  /**
   * The guardrails moved a call due now to a later time: it waits `scheduled` until then (back from `queued` if it was
   * waiting for a line), with why. The deferral stays on the call as a record after it is dialed.
   */
  deferCall(row: CallRow, deferral: Deferred): void {
    if (row.status !== 'scheduled') callMachine.assertMove(row.status, 'scheduled', `call ${row.id}`);
    this.store
      .sql('UPDATE calls SET status = ?, scheduled_at = ?, deferred_until = ?, deferred_code = ?, deferred_reason = ?, updated_at = ? WHERE id = ?')
      .run('scheduled', deferral.until, deferral.until, deferral.code, deferral.reason, nowIso(), row.id);
    row.status = 'scheduled';
    this.announce(row.id, row.mission_id);
    this.noteDeferral(row, deferral);
  }

  /** A call of a mission that the guardrails moved later shows in the mission's audit trail too. */
  noteDeferral(call: Pick<CallRow, 'id' | 'to_number' | 'mission_id' | 'step_id'>, deferral: Deferred): void {
    if (!call.mission_id) return;
    this.linkedWork.note(call.mission_id, {
      type: 'call_deferred',
      step_id: call.step_id,
      summary: `Call ${call.id} to ${call.to_number}: ${deferral.reason}`,
      payload: { call_id: call.id, until: deferral.until, code: deferral.code },
    });
  }

  /** The call reached its final status: its insight closes and its mission step may settle. */
  finishCall(row: CallRow, status: CallEnd, error: { code: string | null; message: string } | null, at = nowIso()): void {
    this.moveCall(row, status, { ended_at: at, error_code: error?.code ?? null, error_message: error?.message ?? null });
    this.insights.close(row.id, status, row.mode);
    if (row.mission_id && row.step_id) this.linkedWork.settled(row.mission_id, row.step_id);
  }

  isCurrent(attempt: { call_id: string; attempt: number }): boolean {
    return this.records.currentAttempt(attempt.call_id)?.attempt === attempt.attempt;
  }

  /**
   * The attempt a carrier event is about. Our own ids win when the adapter carried them through the carrier,
   * since a callback may race ahead of the dial response that tells us the carrier's id (recorded here).
   */
  findAttempt(ref: CallRef): AttemptRow | undefined {
    if (ref.callId !== undefined && ref.attempt !== undefined) {
      const row = this.records.attempt(ref.callId, ref.attempt);
      if (row && !row.provider_call_id && ref.providerCallId) this.recordProviderId(row.call_id, row.attempt, ref.providerCallId);
      if (row) return row;
    }
    return this.records.attemptByProviderId(this.providerName, ref.providerCallId);
  }

  recordProviderId(callId: string, attempt: number, providerCallId: string): void {
    this.store.sql('UPDATE call_attempts SET provider_call_id = ? WHERE call_id = ? AND attempt = ? AND provider_call_id IS NULL').run(providerCallId, callId, attempt);
    this.announce(callId);
  }

  /** A late "answered" cannot move an ended attempt back, but it still tells when the talking started. */
  backfillAnswer(attempt: AttemptRow, answeredAt: string): void {
    this.store.sql('UPDATE call_attempts SET answered_at = coalesce(answered_at, ?) WHERE call_id = ? AND attempt = ?').run(answeredAt, attempt.call_id, attempt.attempt);
    if (this.isCurrent(attempt)) this.store.sql('UPDATE calls SET answered_at = coalesce(answered_at, ?) WHERE id = ?').run(answeredAt, attempt.call_id);
    this.announce(attempt.call_id);
  }

  addTurn(callId: string, attempt: number, speaker: 'agent' | 'callee', text: string, at: string): void {
    this.store.sql('INSERT INTO transcript_turns (call_id, attempt, speaker, text, at) VALUES (?, ?, ?, ?, ?)').run(callId, attempt, speaker, text, at);
    this.store.announce({ kind: 'call', id: callId, transcript: true });
  }

  announce(callId: string, missionId?: string | null): void {
    this.store.announce({ kind: 'call', id: callId, transcript: false });
    if (missionId) this.store.announce({ kind: 'mission', id: missionId });
  }
}
