import { NotFoundError, UserError } from '../errors.js';
import { newId } from '../ids.js';
import { validateInsightSchema, type InsightSchema } from '../insights/schema.js';
import { fromJsonText, toJsonText } from '../json.js';
import type { Store } from '../store/store.js';
import { capText, LIMITS } from '../limits.js';
import { nowIso } from '../time.js';
import { missionMachine, missionOutcome, OPEN_STEPS_SQL, stepMachine, type MissionEnd, type MissionStatus, type OpenMissionStatus, type StepStatus } from './lifecycle.js';
import { uniqueSlug } from './slug.js';

export type EventSource = 'client' | 'switchboard';

export type Step = { step_id: string; description: string; status: StepStatus; note: string | null; updated_at: string };
export type MissionEvent = {
  seq: number;
  type: string;
  summary: string;
  step_id: string | null;
  payload: unknown;
  source: EventSource;
  created_at: string;
};
export type MissionSummary = {
  mission_id: string;
  slug: string;
  name: string;
  status: MissionStatus;
  steps_total: number;
  steps_open: number;
  created_at: string;
  updated_at: string;
};
export type Mission = {
  mission_id: string;
  slug: string;
  name: string;
  instructions: string;
  request: string | null;
  status: MissionStatus;
  insight_schema: InsightSchema | null;
  steps: Step[];
  summary: string | null;
  result: unknown;
  created_at: string;
  updated_at: string;
  ended_at: string | null;
};

type MissionRow = {
  id: string;
  slug: string;
  name: string;
  instructions: string;
  request: string | null;
  insight_schema: string | null;
  status: MissionStatus;
  summary: string | null;
  result: string | null;
  created_at: string;
  updated_at: string;
  ended_at: string | null;
};

export type CreateMissionInput = {
  name: string;
  instructions: string;
  request?: string;
  steps?: { step_id: string; description: string }[];
  insight_schema?: unknown;
  idempotency_key?: string;
};

export const STEP_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Missions, their steps, events and memory. Every method is one transaction; every automatic
 * move (step start/finish from linked work, mission end) is written as an event in that same transaction.
 */
export class Missions {
  constructor(private readonly store: Store) {}

  create(input: CreateMissionInput): { mission: Mission; created: boolean } {
    const name = capText('name', input.name.trim(), LIMITS.name);
    const instructions = capText('instructions', input.instructions.trim(), LIMITS.instructions);
    if (input.request !== undefined) capText('request', input.request, LIMITS.request);
    if (!name) throw new UserError('`name` must not be empty; give the mission a short human name like "Find roofers".');
    if (!instructions) throw new UserError('`instructions` must not be empty; say what the mission should achieve.');
    const steps = input.steps ?? [];
    const seen = new Set<string>();
    for (const s of steps) {
      if (!STEP_ID.test(s.step_id)) {
        throw new UserError(`step_id ${JSON.stringify(s.step_id)} must be 1–64 letters, digits, _ . or - (like "call-ace").`);
      }
      if (seen.has(s.step_id)) throw new UserError(`step_id ${JSON.stringify(s.step_id)} appears twice; every step needs its own id.`);
      if (!s.description.trim()) throw new UserError(`step ${JSON.stringify(s.step_id)} needs a non-empty description.`);
      capText(`steps[${steps.indexOf(s)}].description`, s.description, LIMITS.stepDescription);
      seen.add(s.step_id);
    }
    const schema = input.insight_schema === undefined ? undefined : validateInsightSchema(input.insight_schema);

    return this.store.tx(() => {
      if (input.idempotency_key !== undefined) {
        const existing = this.store.sql('SELECT id FROM missions WHERE idempotency_key = ?').get(input.idempotency_key) as { id: string } | undefined;
        if (existing) return { mission: this.get(existing.id), created: false };
      }
      const id = newId('msn');
      const now = nowIso();
      const slug = uniqueSlug(this.store, name);
      this.store
        .sql(
          `INSERT INTO missions (id, slug, name, instructions, request, insight_schema, status, idempotency_key, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)`,
        )
        .run(id, slug, name, instructions, input.request ?? null, schema ? JSON.stringify(schema) : null, input.idempotency_key ?? null, now, now);
      const insertStep = this.store.sql(
        `INSERT INTO steps (mission_id, step_id, seq, description, status, updated_at) VALUES (?, ?, ?, ?, 'pending', ?)`,
      );
      steps.forEach((s, i) => insertStep.run(id, s.step_id, i + 1, s.description.trim(), now));
      this.appendEvent(id, { type: 'mission_created', summary: `Mission "${name}" created with ${steps.length} step(s).`, source: 'switchboard' });
      return { mission: this.get(id), created: true };
    });
  }

  /** Resolves a mission id or slug to its id, or throws NotFoundError. */
  resolveId(ref: string): string {
    const row = this.store.sql('SELECT id FROM missions WHERE id = ? OR slug = ?').get(ref, ref) as { id: string } | undefined;
    if (!row) throw new NotFoundError(`No mission has id or slug ${JSON.stringify(ref)}.`, 'missions');
    return row.id;
  }

  get(ref: string): Mission {
    const id = this.resolveId(ref);
    const row = this.store.sql('SELECT * FROM missions WHERE id = ?').get(id) as MissionRow;
    return {
      mission_id: row.id,
      slug: row.slug,
      name: row.name,
      instructions: row.instructions,
      request: row.request,
      status: row.status,
      insight_schema: fromJsonText<InsightSchema>(row.insight_schema) ?? null,
      steps: this.steps(id),
      summary: row.summary,
      result: fromJsonText(row.result) ?? null,
      created_at: row.created_at,
      updated_at: row.updated_at,
      ended_at: row.ended_at,
    };
  }

  steps(missionId: string): Step[] {
    return this.store
      .sql('SELECT step_id, description, status, note, updated_at FROM steps WHERE mission_id = ? ORDER BY seq')
      .all(missionId) as Step[];
  }

  list(filter: { status?: MissionStatus; limit?: number } = {}): MissionSummary[] {
    return this.store
      .sql(
        `SELECT m.id AS mission_id, m.slug, m.name, m.status, m.created_at, m.updated_at,
                (SELECT count(*) FROM steps s WHERE s.mission_id = m.id) AS steps_total,
                (SELECT count(*) FROM steps s WHERE s.mission_id = m.id AND s.status IN (${OPEN_STEPS_SQL})) AS steps_open
         FROM missions m WHERE (@status IS NULL OR m.status = @status) ORDER BY m.created_at DESC, m.id DESC LIMIT @limit`,
      )
      .all({ status: filter.status ?? null, limit: filter.limit ?? 100 }) as MissionSummary[];
  }

  count(status: MissionStatus): number {
    return (this.store.sql('SELECT count(*) AS n FROM missions WHERE status = ?').get(status) as { n: number }).n;
  }

  recentEvents(missionId: string, limit = 20): MissionEvent[] {
    const rows = this.store
      .sql('SELECT seq, type, summary, step_id, payload, source, created_at FROM events WHERE mission_id = ? ORDER BY seq DESC LIMIT ?')
      .all(missionId, limit) as (Omit<MissionEvent, 'payload'> & { payload: string | null })[];
    return rows.reverse().map((r) => ({ ...r, payload: fromJsonText(r.payload) ?? null }));
  }

  memory(missionId: string): Record<string, unknown> {
    const rows = this.store.sql('SELECT key, value FROM memory WHERE mission_id = ? ORDER BY key').all(missionId) as { key: string; value: string }[];
    return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value)]));
  }

  updateStep(ref: string, stepId: string, status: StepStatus, note: string | undefined, source: EventSource = 'client'): { step: Step; mission: Mission } {
    return this.store.tx(() => {
      const id = this.resolveId(ref);
      this.moveStep(id, stepId, status, note ?? null, source);
      const mission = this.get(id);
      return { step: mission.steps.find((s) => s.step_id === stepId)!, mission };
    });
  }

  complete(ref: string, status: MissionEnd, summary: string, result?: unknown): Mission {
    if (!summary.trim()) throw new UserError('`summary` must not be empty; say in a sentence how the mission ended.');
    capText('summary', summary, LIMITS.summary);
    const resultText = result === undefined ? null : toJsonText(result, 'result', LIMITS.result);
    return this.store.tx(() => {
      const id = this.resolveId(ref);
      const mission = this.get(id);
      const open = mission.steps.filter((s) => !stepMachine.isTerminal(s.status));
      if (open.length > 0 && status === 'succeeded') {
        throw new UserError(`mission ${mission.slug} still has open steps (${open.map((s) => s.step_id).join(', ')}).`, { code: 'conflict', hint: { see: 'open_steps' } });
      }
      for (const s of open) this.moveStep(id, s.step_id, 'skipped', `mission ${status}`, 'switchboard', false);
      this.finish(id, status, summary.trim(), resultText, 'client');
      return this.get(id);
    });
  }

  logEvent(ref: string, input: { type: string; summary: string; step_id?: string; payload?: unknown }): MissionEvent {
    if (!input.type.trim()) throw new UserError('`type` must not be empty (for example "note", "quote_received").');
    if (!input.summary.trim()) throw new UserError('`summary` must not be empty; say in a sentence what happened.');
    return this.store.tx(() => {
      const id = this.resolveId(ref);
      if (input.step_id !== undefined) this.stepStatus(id, input.step_id);
      const seq = this.appendEvent(id, { ...input, source: 'client' });
      return this.recentEvents(id, 1).find((e) => e.seq === seq)!;
    });
  }

  saveMemory(ref: string, key: string, value: unknown, mode: 'set' | 'append' = 'set'): { key: string; value: unknown; updated_at: string } {
    if (!key.trim()) throw new UserError('`key` must not be empty.');
    capText('key', key, LIMITS.memoryKey);
    const text = toJsonText(value, 'value', LIMITS.memoryValue);
    return this.store.tx(() => {
      const id = this.resolveId(ref);
      const now = nowIso();
      let stored = text;
      if (mode === 'append') {
        const row = this.store.sql('SELECT value FROM memory WHERE mission_id = ? AND key = ?').get(id, key) as { value: string } | undefined;
        const prior = row ? JSON.parse(row.value) : [];
        stored = JSON.stringify([...(Array.isArray(prior) ? prior : [prior]), JSON.parse(text)]);
        if (Buffer.byteLength(stored) > LIMITS.memoryValue) {
          throw new UserError(`appending would make memory \`${key}\` larger than ${LIMITS.memoryValue.toLocaleString('en')} bytes as JSON; save a summary under it with mode "set", or use a new key.`);
        }
      }
      this.store
        .sql(
          `INSERT INTO memory (mission_id, key, value, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (mission_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        )
        .run(id, key, stored, now);
      this.touch(id);
      return { key, value: JSON.parse(stored), updated_at: now };
    });
  }

  /**
   * Pauses, resumes or holds an open mission at its approval gate (the one place besides `finish` its status changes).
   * Call inside a transaction.
   */
  setStatus(missionId: string, to: OpenMissionStatus, summary: string, source: EventSource): void {
    const { slug, status: from } = this.store.sql('SELECT slug, status FROM missions WHERE id = ?').get(missionId) as { slug: string; status: MissionStatus };
    missionMachine.assertMove(from, to, `mission ${slug}`);
    this.store.sql('UPDATE missions SET status = ? WHERE id = ?').run(to, missionId);
    this.appendEvent(missionId, { type: 'mission_status', summary, payload: { from, to }, source });
  }

  /** Switchboard's own entry in a mission's audit trail (a campaign's moves). Call inside a transaction. */
  note(missionId: string, e: { type: string; summary: string; step_id?: string; payload?: unknown }): void {
    this.appendEvent(missionId, { ...e, source: 'switchboard' });
  }

  /** Adds steps after the last one (a campaign's second round). Call inside a transaction. */
  addSteps(missionId: string, steps: { step_id: string; description: string }[]): void {
    const { seq } = this.store.sql('SELECT coalesce(max(seq), 0) AS seq FROM steps WHERE mission_id = ?').get(missionId) as { seq: number };
    const insert = this.store.sql(`INSERT INTO steps (mission_id, step_id, seq, description, status, updated_at) VALUES (?, ?, ?, ?, 'pending', ?)`);
    steps.forEach((s, i) => insert.run(missionId, s.step_id, seq + i + 1, s.description, nowIso()));
    this.touch(missionId);
  }

  /** Moves a step on Switchboard's own account without ending the mission (a campaign ends it itself). Inside a transaction. */
  moveStepQuietly(missionId: string, stepId: string, to: StepStatus, note: string): void {
    this.moveStep(missionId, stepId, to, note, 'switchboard', false);
  }

  /**
   * Switchboard ends a mission it runs (a campaign) with its result: the steps named in `done` complete, any other
   * open step is skipped. Call inside a transaction.
   */
  conclude(missionId: string, status: MissionEnd, summary: string, result: unknown, done: readonly string[]): void {
    for (const s of this.steps(missionId)) {
      if (stepMachine.isTerminal(s.status)) continue;
      const complete = done.includes(s.step_id);
      if (complete && s.status === 'pending') this.moveStep(missionId, s.step_id, 'in_progress', null, 'switchboard', false);
      this.moveStep(missionId, s.step_id, complete ? 'completed' : 'skipped', complete ? null : `mission ${status}`, 'switchboard', false);
    }
    this.finish(missionId, status, summary, JSON.stringify(result), 'switchboard');
  }

  /** A linked call or SMS was dispatched: its step starts, if it has not already. Call inside the dispatch transaction. */
  linkedWorkStarted(missionId: string, stepId: string): void {
    if (this.stepStatus(missionId, stepId) === 'pending' && this.isOpen(missionId)) {
      this.moveStep(missionId, stepId, 'in_progress', 'linked work dispatched', 'switchboard');
    }
  }

  /**
   * A linked item reached a terminal status. When every item linked to the step is terminal, the step
   * completes (or fails when none succeeded). Call inside the transaction that recorded the item's end.
   */
  linkedWorkSettled(missionId: string, stepId: string, items: { terminal: boolean; succeeded: boolean }[]): void {
    if (!this.isOpen(missionId) || items.some((i) => !i.terminal)) return;
    const status = this.stepStatus(missionId, stepId);
    if (stepMachine.isTerminal(status)) return;
    if (status === 'pending') this.moveStep(missionId, stepId, 'in_progress', 'linked work dispatched', 'switchboard');
    const ok = items.some((i) => i.succeeded);
    this.moveStep(missionId, stepId, ok ? 'completed' : 'failed', ok ? 'linked work succeeded' : 'no linked call or message succeeded', 'switchboard');
  }

  /** Not ended: active, paused or at an approval gate. */
  isOpen(missionId: string): boolean {
    const row = this.store.sql('SELECT status FROM missions WHERE id = ?').get(missionId) as { status: MissionStatus } | undefined;
    return row !== undefined && !missionMachine.isTerminal(row.status);
  }

  status(missionId: string): MissionStatus {
    return (this.store.sql('SELECT status FROM missions WHERE id = ?').get(missionId) as { status: MissionStatus }).status;
  }

  private stepStatus(missionId: string, stepId: string): StepStatus {
    const row = this.store.sql('SELECT status FROM steps WHERE mission_id = ? AND step_id = ?').get(missionId, stepId) as { status: StepStatus } | undefined;
    if (!row) {
      const ids = this.steps(missionId).map((s) => s.step_id);
      throw new NotFoundError(
        `mission has no step ${JSON.stringify(stepId)}; its steps are ${ids.length ? ids.join(', ') : 'none (create the mission with steps)'}.`,
      );
    }
    return row.status;
  }

  /** The one place a step changes status: checked against the table, logged, and the mission ended when all steps are. */
  private moveStep(missionId: string, stepId: string, to: StepStatus, note: string | null, source: EventSource, autoEnd = true): void {
    const from = this.stepStatus(missionId, stepId);
    const mission = this.store.sql('SELECT slug, status FROM missions WHERE id = ?').get(missionId) as { slug: string; status: MissionStatus };
    if (missionMachine.isTerminal(mission.status) && source === 'client') {
      throw new UserError(`mission ${mission.slug} is ${mission.status}; its steps can no longer change.`);
    }
    stepMachine.assertMove(from, to, `step ${stepId}`);
    this.store
      .sql('UPDATE steps SET status = ?, note = coalesce(?, note), updated_at = ? WHERE mission_id = ? AND step_id = ?')
      .run(to, note, nowIso(), missionId, stepId);
    this.appendEvent(missionId, {
      type: 'step_status',
      step_id: stepId,
      summary: `Step ${stepId}: ${from} → ${to}${note ? ` (${note})` : ''}.`,
      payload: { from, to },
      source,
    });
    if (missionMachine.isTerminal(mission.status) || !autoEnd) return;
    // The distinct statuses say as much as every step would, without reading a thousand of them on every move.
    const outcome = missionOutcome(this.store.sql('SELECT DISTINCT status FROM steps WHERE mission_id = ?').all(missionId) as { status: StepStatus }[]);
    if (outcome) {
      this.finish(missionId, outcome, outcome === 'succeeded' ? 'Every step finished.' : 'Every step is done and at least one failed.', null, 'switchboard');
    }
  }

  /** The one place a mission's status changes. */
  private finish(missionId: string, status: MissionEnd, summary: string, result: string | null, source: EventSource): void {
    const { slug, status: from } = this.store.sql('SELECT slug, status FROM missions WHERE id = ?').get(missionId) as { slug: string; status: MissionStatus };
    missionMachine.assertMove(from, status, `mission ${slug}`);
    const now = nowIso();
    this.store
      .sql('UPDATE missions SET status = ?, summary = ?, result = coalesce(?, result), ended_at = ?, updated_at = ? WHERE id = ?')
      .run(status, summary, result, now, now, missionId);
    this.appendEvent(missionId, { type: 'mission_ended', summary: `Mission ${status}: ${summary}`, payload: { status }, source });
    // Its calls and messages still waiting or live stop, in this same transaction.
    this.store.events.emit({ type: 'mission.ended', missionId });
  }

  private appendEvent(
    missionId: string,
    e: { type: string; summary: string; step_id?: string; payload?: unknown; source: EventSource },
  ): number {
    const payload = e.payload === undefined ? null : toJsonText(e.payload, 'payload', LIMITS.payload);
    const info = this.store
      .sql('INSERT INTO events (mission_id, step_id, type, summary, payload, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(missionId, e.step_id ?? null, e.type.trim(), e.summary.trim(), payload, e.source, nowIso());
    this.touch(missionId);
    return Number(info.lastInsertRowid);
  }

  private touch(missionId: string): void {
    this.store.sql('UPDATE missions SET updated_at = ? WHERE id = ?').run(nowIso(), missionId);
    this.store.announce({ kind: 'mission', id: missionId });
  }
}
