import { StateMachine } from '../state-machine.js';
import { sqlList } from '../store/sql.js';

export const STEP_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export const stepMachine = new StateMachine<StepStatus>('step', {
  pending: ['in_progress', 'skipped'],
  in_progress: ['completed', 'failed', 'skipped'],
  completed: [],
  failed: [],
  skipped: [],
});

/** Steps still to do, for SQL `IN (…)`. */
export const OPEN_STEPS_SQL = sqlList(STEP_STATUSES.filter((s) => !stepMachine.isTerminal(s)));

export const MISSION_STATUSES = ['active', 'paused', 'awaiting_approval', 'succeeded', 'failed', 'cancelled'] as const;
export type MissionStatus = (typeof MISSION_STATUSES)[number];
/** A mission that has not ended: running, paused by the client, or waiting at a campaign's approval gate. */
export type OpenMissionStatus = 'active' | 'paused' | 'awaiting_approval';
export type MissionEnd = Exclude<MissionStatus, OpenMissionStatus>;

/** A paused mission dials and sends nothing new; one awaiting approval waits for `approve_round` (or elicitation). */
export const missionMachine = new StateMachine<MissionStatus>('mission', {
  active: ['paused', 'awaiting_approval', 'succeeded', 'failed', 'cancelled'],
  paused: ['active', 'succeeded', 'failed', 'cancelled'],
  awaiting_approval: ['active', 'succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
});

/** The status a mission ends in once every step is terminal, or null while any step is open (or there are none). */
export function missionOutcome(steps: readonly { status: StepStatus }[]): 'succeeded' | 'failed' | null {
  if (steps.length === 0 || steps.some((s) => !stepMachine.isTerminal(s.status))) return null;
  return steps.some((s) => s.status === 'failed') ? 'failed' : 'succeeded';
}
