import { UserError } from '../errors.js';
import type { InsightSchema } from '../insights/schema.js';
import { fromJsonText } from '../json.js';
import type { Store } from '../store/store.js';
import type { Missions } from './missions.js';

/**
 * Calls and SMS linked to a mission step move that step: dispatch starts it; when every linked item
 * is final it completes (or fails when none succeeded). Call these inside the item's own transaction.
 */
export class LinkedWork {
  constructor(
    private readonly store: Store,
    private readonly missions: Missions,
  ) {}

  /** Checks that new work may link to this mission (and step); returns the mission id. */
  resolveTarget(missionRef: string, stepId: string | undefined): string {
    const mission = this.missions.get(missionRef);
    if (mission.status !== 'active') throw new UserError(`mission ${mission.slug} is ${mission.status}; it takes no new calls or messages.`);
    if (stepId !== undefined && !mission.steps.some((s) => s.step_id === stepId)) {
      const ids = mission.steps.map((s) => s.step_id);
      throw new UserError(`mission ${mission.slug} has no step ${JSON.stringify(stepId)}; its steps are ${ids.length ? ids.join(', ') : 'none'}.`);
    }
    return mission.mission_id;
  }

  missionInsightSchema(missionId: string): InsightSchema | undefined {
    const row = this.store.sql('SELECT insight_schema FROM missions WHERE id = ?').get(missionId) as { insight_schema: string | null };
    return fromJsonText<InsightSchema>(row.insight_schema);
  }

  started(missionId: string, stepId: string): void {
    this.missions.linkedWorkStarted(missionId, stepId);
  }

  settled(missionId: string, stepId: string): void {
    const items = this.store
      .sql(
        `SELECT c.status IN ('completed','busy','no_answer','voicemail','failed','canceled') AS terminal,
                (c.status = 'completed' OR (c.status = 'voicemail' AND i.outcome = 'voicemail_left')) AS succeeded
           FROM calls c LEFT JOIN insights i ON i.call_id = c.id WHERE c.mission_id = @mission AND c.step_id = @step
         UNION ALL
         SELECT status IN ('delivered','failed','canceled'), status = 'delivered'
           FROM messages WHERE mission_id = @mission AND step_id = @step AND direction = 'outbound'`,
      )
      .all({ mission: missionId, step: stepId }) as { terminal: number; succeeded: number }[];
    this.missions.linkedWorkSettled(
      missionId,
      stepId,
      items.map((i) => ({ terminal: i.terminal === 1, succeeded: i.succeeded === 1 })),
    );
  }
}
