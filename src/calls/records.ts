import { NotFoundError } from '../errors.js';
import { deferredOf, type Deferred } from '../guardrails/outbound-guard.js';
import type { Insights } from '../insights/insights.js';
import { fromJsonText } from '../json.js';
import type { Store } from '../store/store.js';
import type { Amd, CallMode } from '../telephony/provider.js';
import { ENDED_SQL, type AttemptStatus, type CallStatus, type EndReason, type RetryableEnd } from './lifecycle.js';

export type CallRetryPolicy = { max_attempts: number; interval_seconds: number; on: RetryableEnd[] };

export type CallAttempt = {
  attempt: number;
  status: AttemptStatus;
  answered_by: string | null;
  hangup_cause: string | null;
  error_code: string | null;
  error_message: string | null;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
};

export type TranscriptTurn = { attempt: number; speaker: 'agent' | 'callee'; text: string; at: string };

/** Live voice delay over a call's turns, in ms: callee stopped speaking → first model audio, → first frame to the carrier. */
export type CallLatency = { turns: number; model_ms: Percentiles; first_frame_ms: Percentiles };
export type Percentiles = { p50: number; p95: number };

export type Call = {
  call_id: string;
  direction: 'outbound' | 'inbound';
  to: string;
  from: string | null;
  mode: CallMode;
  status: CallStatus;
  /** What the call says first (notify: all it says), and what its agent was told to achieve. */
  message: string | null;
  instructions: string | null;
  answered_by: string | null;
  scheduled_at: string;
  answered_at: string | null;
  ended_at: string | null;
  duration_seconds: number | null;
  attempts: CallAttempt[];
  transcript: TranscriptTurn[];
  /** Per-turn delay of a live voice call; null for calls without one. */
  latency: CallLatency | null;
  outcome: string | null;
  summary: string | null;
  fields: Record<string, unknown>;
  error: { code: string | null; message: string } | null;
  /** The callee's IANA time zone when the client gave one (else calling hours use the zones of the number). */
  timezone: string | null;
  /** The last time calling hours or a daily cap moved this call later, and why; null if they never did. */
  deferred: Deferred | null;
  retry: CallRetryPolicy | null;
  mission_id: string | null;
  step_id: string | null;
  assistant_id: string | null;
  metadata: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
};

export type CallSummary = Pick<Call, 'call_id' | 'direction' | 'to' | 'from' | 'mode' | 'status' | 'scheduled_at' | 'ended_at' | 'mission_id' | 'step_id'> & {
  attempts: number;
  outcome: string | null;
};

export type CallRow = {
  id: string;
  direction: 'outbound' | 'inbound';
  to_number: string;
  from_number: string | null;
  mode: CallMode;
  message: string | null;
  instructions: string | null;
  assistant_id: string | null;
  insight_schema: string | null;
  amd: Amd;
  voicemail_message: string | null;
  retry: string | null;
  status: CallStatus;
  answered_by: string | null;
  error_code: string | null;
  error_message: string | null;
  mission_id: string | null;
  step_id: string | null;
  metadata: string | null;
  scheduled_at: string;
  answered_at: string | null;
  ended_at: string | null;
  end_requested_at: string | null;
  end_reason: EndReason | null;
  timezone: string | null;
  deferred_until: string | null;
  deferred_code: string | null;
  deferred_reason: string | null;
  created_at: string;
  updated_at: string;
};

const SUMMARY_SELECT = `SELECT c.id AS call_id, c.direction, c.to_number AS "to", c.from_number AS "from", c.mode, c.status, c.scheduled_at,
    c.ended_at, c.mission_id, c.step_id, i.outcome, (SELECT count(*) FROM call_attempts a WHERE a.call_id = c.id) AS attempts
  FROM calls c LEFT JOIN insights i ON i.call_id = c.id`;

export type AttemptRow = CallAttempt & { call_id: string; provider_call_id: string | null };

/** Reading calls: the views tools and resources show, and the row lookups the call ledger builds on. */
export class CallRecords {
  constructor(
    private readonly store: Store,
    private readonly insights: Insights,
  ) {}

  get(callId: string): Call {
    const row = this.row(callId);
    const attempts = this.store
      .sql('SELECT attempt, status, answered_by, hangup_cause, error_code, error_message, started_at, answered_at, ended_at FROM call_attempts WHERE call_id = ? ORDER BY attempt')
      .all(callId) as CallAttempt[];
    const insight = this.insights.forCall(row.id);
    const last = attempts[attempts.length - 1];
    const duration = last?.answered_at && last.ended_at ? Math.round((Date.parse(last.ended_at) - Date.parse(last.answered_at)) / 1000) : null;
    return {
      call_id: row.id,
      direction: row.direction,
      to: row.to_number,
      from: row.from_number,
      mode: row.mode,
      status: row.status,
      message: row.message,
      instructions: row.instructions,
      answered_by: row.answered_by,
      scheduled_at: row.scheduled_at,
      answered_at: row.answered_at,
      ended_at: row.ended_at,
      duration_seconds: duration,
      attempts,
      transcript: this.transcript(callId),
      latency: this.latency(callId),
      outcome: insight.outcome,
      summary: insight.summary,
      fields: insight.fields,
      error: row.error_message ? { code: row.error_code, message: row.error_message } : null,
      timezone: row.timezone,
      deferred: deferredOf(row),
      retry: fromJsonText<CallRetryPolicy>(row.retry) ?? null,
      mission_id: row.mission_id,
      step_id: row.step_id,
      assistant_id: row.assistant_id,
      metadata: fromJsonText<Record<string, unknown>>(row.metadata) ?? null,
      created_at: row.created_at,
      updated_at: row.updated_at,
    };
  }

  /** Just the status, for hot paths such as waiters. */
  statusOf(callId: string): { status: CallStatus; mission_id: string | null } {
    const row = this.store.sql('SELECT status, mission_id FROM calls WHERE id = ?').get(callId) as { status: CallStatus; mission_id: string | null } | undefined;
    if (!row) throw new NotFoundError(`No call has id ${JSON.stringify(callId)}.`, 'calls');
    return row;
  }

  summary(callId: string): CallSummary {
    const row = this.store.sql(`${SUMMARY_SELECT} WHERE c.id = ?`).get(callId) as CallSummary | undefined;
    if (!row) throw new NotFoundError(`No call has id ${JSON.stringify(callId)}.`, 'calls');
    return row;
  }

  transcript(callId: string): TranscriptTurn[] {
    return this.store.sql('SELECT attempt, speaker, text, at FROM transcript_turns WHERE call_id = ? ORDER BY seq').all(callId) as TranscriptTurn[];
  }

  latency(callId: string): CallLatency | null {
    const rows = this.store.sql('SELECT model_ms, first_frame_ms FROM call_turn_latency WHERE call_id = ?').all(callId) as { model_ms: number; first_frame_ms: number }[];
    if (rows.length === 0) return null;
    return { turns: rows.length, model_ms: percentiles(rows.map((r) => r.model_ms)), first_frame_ms: percentiles(rows.map((r) => r.first_frame_ms)) };
  }

  list(filter: { mission_id?: string; status?: CallStatus; limit?: number } = {}): CallSummary[] {
    return this.store
      .sql(
        `${SUMMARY_SELECT}
         WHERE (@mission IS NULL OR c.mission_id = @mission) AND (@status IS NULL OR c.status = @status)
         ORDER BY c.created_at DESC, c.id DESC LIMIT @limit`,
      )
      .all({ mission: filter.mission_id ?? null, status: filter.status ?? null, limit: filter.limit ?? 50 }) as CallSummary[];
  }

  /** The calls linked to a mission step: final once ended; a success when completed or a voicemail was left. */
  linkedItems(missionId: string, stepId: string): { terminal: boolean; succeeded: boolean }[] {
    const rows = this.store
      .sql(
        `SELECT c.status IN (${ENDED_SQL}) AS terminal, (c.status = 'completed' OR (c.status = 'voicemail' AND i.outcome = 'voicemail_left')) AS succeeded
           FROM calls c LEFT JOIN insights i ON i.call_id = c.id WHERE c.mission_id = ? AND c.step_id = ?`,
      )
      .all(missionId, stepId) as { terminal: number; succeeded: number }[];
    return rows.map((r) => ({ terminal: r.terminal === 1, succeeded: r.succeeded === 1 }));
  }

  row(callId: string): CallRow {
    const row = this.store.sql('SELECT * FROM calls WHERE id = ?').get(callId) as CallRow | undefined;
    if (!row) throw new NotFoundError(`No call has id ${JSON.stringify(callId)}.`, 'calls');
    return row;
  }

  currentAttempt(callId: string): AttemptRow | undefined {
    return this.store.sql('SELECT * FROM call_attempts WHERE call_id = ? ORDER BY attempt DESC LIMIT 1').get(callId) as AttemptRow | undefined;
  }

  attempt(callId: string, attempt: number): AttemptRow | undefined {
    return this.store.sql('SELECT * FROM call_attempts WHERE call_id = ? AND attempt = ?').get(callId, attempt) as AttemptRow | undefined;
  }

  attemptByProviderId(provider: string, providerCallId: string): AttemptRow | undefined {
    return this.store.sql('SELECT * FROM call_attempts WHERE provider = ? AND provider_call_id = ?').get(provider, providerCallId) as AttemptRow | undefined;
  }
}

/** Nearest-rank percentiles, rounded to 0.1 ms. */
function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! * 10) / 10;
  return { p50: rank(0.5), p95: rank(0.95) };
}
