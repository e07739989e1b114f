import { z } from 'zod';
import { missionDetail } from '../../views/mission-detail.js';
import { MISSION_STATUSES, STEP_STATUSES } from '../../missions/lifecycle.js';
import { CampaignProgress, insightSchemaInput, Mission, MissionDetail, MissionEvent, MissionSummary, Step } from '../schemas.js';
import { defineTool, READ_ONLY, type ToolDefinition } from '../tool.js';
import { campaignInput } from './campaigns.js';

const missionRef = z.string().min(1).describe('Mission id (msn_…) or its slug (find-roofers)');

/** Multi-step outreach missions: their steps, audit trail and memory. */
export const missionTools: readonly ToolDefinition[] = [
  defineTool({
    name: 'create_mission',
    title: 'Create mission',
    description:
      'Start a multi-step outreach mission (e.g. "call these roofers and compare quotes"). With `targets` it is a campaign Switchboard runs by itself: it calls every target within calling hours and caps, retries, ranks by `rubric`, stops at `stop_when`, asks approval between rounds, sends follow_up_sms, and composes the result in get_mission (preview_mission first shows who is called when). Without targets, give it steps and link your own calls and SMS with mission_id/step_id: Switchboard moves steps and ends the mission by itself. insight_schema names the fields every call collects. Reuse idempotency_key when retrying so you get the same mission back.',
    input: z.object({
      name: z.string().describe('Short human name; its slug (find-roofers) is unique and addresses the mission too'),
      instructions: z.string().describe('What the mission should achieve, for you and any voice agent'),
      request: z.string().optional().describe("The user's original request, verbatim"),
      ...campaignInput,
      targets: campaignInput.targets.optional(),
      steps: z
        .array(z.object({ step_id: z.string().describe('Unique within the mission, e.g. "call-ace"'), description: z.string() }))
        .max(500)
        .optional()
        .describe('Planned steps, in order'),
      insight_schema: insightSchemaInput.optional(),
      idempotency_key: z.string().min(1).max(200).optional().describe('Same key → same mission, never a duplicate'),
    }),
    output: Mission.extend({ created: z.boolean().describe('false when idempotency_key matched an existing mission'), campaign: CampaignProgress }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    handle: (app, args, _extra, session) => {
      const { mission, created } = app.campaigns.createMission(args, session.approver);
      return { ...mission, created, campaign: app.campaigns.progress(mission.mission_id) };
    },
  }),

  defineTool({
    name: 'get_mission',
    title: 'Get mission',
    description:
      'Everything about one mission by id or slug: status, steps, its calls and messages, memory, recent events and result. Use it to check progress or to report back to the user.',
    input: z.object({ mission_id: missionRef }),
    output: MissionDetail,
    annotations: READ_ONLY,
    handle: (app, { mission_id }) => missionDetail(app, mission_id),
  }),

  defineTool({
    name: 'list_missions',
    title: 'List missions',
    description: 'Missions, newest first, optionally only those with one status (active, succeeded, failed, cancelled).',
    input: z.object({
      status: z.enum(MISSION_STATUSES).optional(),
      limit: z.number().int().min(1).max(500).optional().describe('Default 100'),
    }),
    output: z.object({ missions: z.array(MissionSummary) }),
    annotations: READ_ONLY,
    handle: (app, args) => ({ missions: app.missions.list(args) }),
  }),

  defineTool({
    name: 'update_step',
    title: 'Update mission step',
    description:
      'Move a mission step by hand: pending → in_progress | skipped; in_progress → completed | failed | skipped. Completed, failed and skipped are final. Steps linked to calls or SMS move by themselves; use this for work you do yourself. When every step is final the mission ends on its own.',
    input: z.object({
      mission_id: missionRef,
      step_id: z.string().min(1),
      status: z.enum(STEP_STATUSES),
      note: z.string().optional().describe('Why, in a sentence; kept on the step and in the event log'),
    }),
    output: z.object({ step: Step, mission_id: z.string(), mission_status: z.enum(MISSION_STATUSES) }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    handle: (app, { mission_id, step_id, status, note }) => {
      const { step, mission } = app.missions.updateStep(mission_id, step_id, status, note);
      return { step, mission_id: mission.mission_id, mission_status: mission.status };
    },
  }),

  defineTool({
    name: 'complete_mission',
    title: 'Complete mission',
    description:
      'End a mission with a summary (and optional result). "succeeded" needs every step final; "failed" or "cancelled" may end it early, skipping open steps. Calls and SMS of the mission not yet dispatched are cancelled and live calls hung up.',
    input: z.object({
      mission_id: missionRef,
      status: z.enum(['succeeded', 'failed', 'cancelled']),
      summary: z.string().describe('How it ended, for the user'),
      result: z.unknown().optional().describe('Any JSON: the answer, a ranking, chosen option'),
    }),
    output: Mission,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    handle: (app, { mission_id, status, summary, result }) => app.missions.complete(mission_id, status, summary, result),
  }),

  defineTool({
    name: 'log_event',
    title: 'Log mission event',
    description: 'Append a note to a mission\'s audit trail (e.g. type "decision", "quote_received"). Events are never edited or deleted.',
    input: z.object({
      mission_id: missionRef,
      type: z.string().max(64),
      summary: z.string().max(2000),
      step_id: z.string().optional(),
      payload: z.unknown().optional().describe('Any JSON detail'),
    }),
    output: z.object({ event: MissionEvent }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    handle: (app, { mission_id, ...event }) => ({ event: app.missions.logEvent(mission_id, event) }),
  }),

  defineTool({
    name: 'save_memory',
    title: 'Save mission memory',
    description:
      'Remember a value on a mission (any JSON) under a key: mode "set" replaces it, "append" adds to a list. get_mission shows all memory, so later turns or a fresh session can pick up where you left off.',
    input: z.object({
      mission_id: missionRef,
      key: z.string().max(200),
      value: z.unknown().describe('Any JSON value'),
      mode: z.enum(['set', 'append']).optional().describe('Default set'),
    }),
    output: z.object({ key: z.string(), value: z.unknown(), updated_at: z.string() }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    handle: (app, { mission_id, key, value, mode }) => app.missions.saveMemory(mission_id, key, value, mode),
  }),
];
