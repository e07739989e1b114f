import { NotFoundError } from '../errors.js';
import { fromJsonText } from '../json.js';
import type { Store } from '../store/store.js';
import { nowIso } from '../time.js';

/** What a voice agent reports when a conversation ends: the fields it heard, in its own words. */
export type AgentReport = { outcome: string; summary: string; fields: Record<string, string | null> };

export type CallInsight = {
  call_id: string;
  status: 'pending' | 'ready' | 'unavailable';
  summary: string | null;
  outcome: string | null;
  fields: Record<string, unknown>;
  source: string;
};

type Row = Omit<CallInsight, 'fields'> & { fields: string };

/** What a call produced: the agent's own report, or why there is none. */
export class Insights {
  constructor(private readonly store: Store) {}

  /** Call inside the transaction that creates the call. */
  open(callId: string): void {
    this.store.sql(`INSERT INTO insights (call_id, status, source, updated_at) VALUES (?, 'pending', 'agent_report', ?)`).run(callId, nowIso());
  }

  record(callId: string, report: AgentReport): void {
    this.store
      .sql(`UPDATE insights SET status = 'ready', summary = ?, outcome = ?, fields = ?, source = 'agent_report', updated_at = ? WHERE call_id = ?`)
      .run(report.summary, report.outcome, JSON.stringify(report.fields), nowIso(), callId);
  }

  /**
   * The call ended. A notify call the carrier played to the end needs no agent to know its outcome;
   * any other call that never produced a report says why it has none.
   */
  close(callId: string, finalStatus: string, mode: string): void {
    const notified = mode === 'notify' && (finalStatus === 'completed' || finalStatus === 'voicemail');
    this.store
      .sql(`UPDATE insights SET status = ?, outcome = ?, summary = ?, source = ?, updated_at = ? WHERE call_id = ? AND status = 'pending'`)
      .run(
        notified ? 'ready' : 'unavailable',
        notified ? (finalStatus === 'voicemail' ? 'voicemail_left' : 'notified') : finalStatus,
        notified ? 'The carrier played the message to the end and hung up.' : `No agent report: the call ended ${finalStatus.replace('_', ' ')}.`,
        notified ? 'carrier' : 'none',
        nowIso(),
        callId,
      );
  }

  /** Every call has an insight row from the moment it is created, so none means no such call. */
  forCall(callId: string): CallInsight {
    const row = this.store.sql('SELECT call_id, status, summary, outcome, fields, source FROM insights WHERE call_id = ?').get(callId) as Row | undefined;
    if (!row) throw new NotFoundError(`No call has id ${JSON.stringify(callId)}.`, 'calls');
    return { ...row, fields: fromJsonText<Record<string, unknown>>(row.fields) ?? {} };
  }

  /** One row per call of a mission, oldest first. */
  forMission(missionId: string): MissionInsightRow[] {
    const rows = this.store
      .sql(
        `SELECT c.id AS call_id, c.to_number AS "to", c.status AS call_status, c.step_id, i.status, i.summary, i.outcome, i.fields, i.source
         FROM calls c JOIN insights i ON i.call_id = c.id WHERE c.mission_id = ? ORDER BY c.created_at, c.id`,
      )
      .all(missionId) as (Row & { to: string; call_status: string; step_id: string | null })[];
    return rows.map((r) => ({ ...r, fields: fromJsonText<Record<string, unknown>>(r.fields) ?? {} }));
  }
}

export type MissionInsightRow = CallInsight & { to: string; call_status: string; step_id: string | null };

