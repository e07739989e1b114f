import { UserError } from '../errors.js';
import type { InsightSchema } from '../insights/schema.js';
import { fromJsonText } from '../json.js';
import type { Store } from '../store/store.js';
import type { Missions } from './missions.js';

/** One kind of linked work (calls, SMS) reports its items of a step: whether each is final, and whether it succeeded. */
export type LinkedItems = (missionId: string, stepId: string) => { terminal: boolean; succeeded: boolean }[];

/**
 * Calls and SMS linked to a mission step move that step: dispatch starts it; when every linked item
 * is final it completes (or fails when none succeeded). Call these inside the item's own transaction.
 * Each kind of work says itself what final and successful mean for it (`track`), so missions need not know.
 */
export class LinkedWork {
  private readonly sources: LinkedItems[] = [];
  private readonly watchers: ((missionId: string, stepId: string) => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly missions: Missions,
  ) {}

  track(source: LinkedItems): void {
    this.sources.push(source);
  }

  /** Checks that new work may link to this mission (and step); returns the mission id. */
  resolveTarget(missionRef: string, stepId: string | undefined): string {
    const id = this.missions.resolveId(missionRef);
    const slug = () => this.missions.get(id).slug;
    if (!this.missions.isOpen(id)) throw new UserError(`mission ${slug()} is ${this.missions.status(id)}; it takes no new calls or messages.`);
    if (stepId !== undefined && !this.store.sql('SELECT 1 FROM steps WHERE mission_id = ? AND step_id = ?').get(id, stepId)) {
      const ids = this.missions.steps(id).map((s) => s.step_id);
      throw new UserError(`mission ${slug()} has no step ${JSON.stringify(stepId)}; its steps are ${ids.length ? ids.join(', ') : 'none'}.`);
    }
    return id;
  }

  missionInsightSchema(missionId: string): InsightSchema | undefined {
    const row = this.store.sql('SELECT insight_schema FROM missions WHERE id = ?').get(missionId) as { insight_schema: string | null };
    return fromJsonText<InsightSchema>(row.insight_schema);
  }

  /** Hears of every linked item that settled or was handed to the carrier, after its step moved (a campaign goes on). */
  watch(watcher: (missionId: string, stepId: string) => void): void {
    this.watchers.push(watcher);
  }

  /** A paused mission's work waits: dispatch holds it until the mission resumes. */
  isPaused(missionId: string): boolean {
    return this.missions.status(missionId) === 'paused';
  }

  /** A move of linked work the mission's audit trail should show (a retry, a deferral), while the mission is open. */
  note(missionId: string, event: { type: string; summary: string; step_id?: string | null; payload?: unknown }): void {
    if (this.missions.isOpen(missionId)) this.missions.note(missionId, { ...event, step_id: event.step_id ?? undefined });
  }

  started(missionId: string, stepId: string): void {
    this.missions.linkedWorkStarted(missionId, stepId);
  }

  settled(missionId: string, stepId: string): void {
    this.missions.linkedWorkSettled(missionId, stepId, this.sources.flatMap((items) => items(missionId, stepId)));
    this.tellWatchers(missionId, stepId);
  }

  /** A linked SMS went to the carrier: not final yet, but nothing more is waiting on Switchboard for it. */
  handedOver(missionId: string, stepId: string): void {
    this.tellWatchers(missionId, stepId);
  }

  private tellWatchers(missionId: string, stepId: string): void {
    for (const watcher of this.watchers) watcher(missionId, stepId);
  }
}
