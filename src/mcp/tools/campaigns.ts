import { z } from 'zod';
import { CAMPAIGN_CLASSES, MAX_TARGETS, PREFERENCES } from '../../campaigns/spec.js';
import { AMD_MODES } from '../../telephony/provider.js';
import { insightSchemaInput, Mission, phoneNumber, retryInput } from '../schemas.js';
import { defineTool, READ_ONLY, type ToolDefinition } from '../tool.js';

const missionRef = z.string().min(1).describe('Mission id (msn_…) or its slug (find-roofers)');

/** The per-target call of a campaign (and of its second round). */
const callTemplate = z.object({
  mode: z.enum(['agent', 'notify']).optional().describe('"agent" (default) holds the conversation; "notify" speaks `message` and hangs up'),
  message: z.string().max(2800).optional().describe('notify: the text to speak; agent: the opening line'),
  instructions: z.string().max(8000).optional().describe("What the agent should achieve on each call; default the mission's instructions"),
  assistant_id: z.string().optional(),
  insight_schema: insightSchemaInput.optional().describe("Fields each call collects; default the mission's insight_schema"),
  amd: z.enum(AMD_MODES).optional(),
  voicemail_message: z.string().max(2000).optional(),
  retry: retryInput.optional().describe('Redial by outcome; retries always wait for calling hours'),
});

/** Everything that makes a mission a campaign: create_mission takes it beside name and instructions, preview_mission too. */
export const campaignInput = {
  targets: z
    .array(
      z.object({
        to: phoneNumber,
        name: z.string().max(200).optional().describe('Who it is, e.g. "Ace Roofing"; used in results and {name} in SMS'),
        timezone: z.string().optional().describe('Their IANA time zone for calling hours; default derived from the number'),
        context: z.string().max(2000).optional().describe('What the agent should know about this target'),
      }),
    )
    .max(MAX_TARGETS)
    .describe(`Who to call, up to ${MAX_TARGETS}; with targets the mission is a campaign Switchboard runs by itself`),
  class: z
    .enum(CAMPAIGN_CLASSES)
    .optional()
    .describe(
      'sweep (default): same call to all, in parallel; screening: sweep + rubric ranking and a winner; negotiation: one call at a time, each told the best offer so far; multi_round: screening, then an approval gate, then round 2 for the top `rounds.advance_top`; gather_then_act: calls in order until one answer meets `stop_when`, then cancels the rest',
    ),
  call: callTemplate.optional(),
  rubric: z
    .array(z.object({ field: z.string(), weight: z.number().describe('Above 0'), prefer: z.enum(PREFERENCES) }))
    .max(20)
    .optional()
    .describe('Scores answered calls and ranks them; a missing field scores 0'),
  stop_when: z
    .object({ field: z.string(), equals: z.union([z.string(), z.number(), z.boolean()]).optional(), present: z.boolean().optional() })
    .optional()
    .describe('gather_then_act: {field, equals} or {field, present: true}'),
  rounds: z
    .object({ advance_top: z.number().int().describe('How many of the best go on to round 2'), round2_call: callTemplate.optional().describe('The round-2 call; default `call`') })
    .optional()
    .describe('multi_round only'),
  follow_up_sms: z
    .record(z.string(), z.string().max(1600))
    .optional()
    .describe('SMS after each call by outcome (the call status like "completed", "no_answer", or the agent\'s outcome), with {name}, {to} and {field} placeholders; same guardrails as any SMS'),
};

const missionBase = {
  name: z.string().describe('Short human name; its slug (find-roofers) is unique and addresses the mission too'),
  instructions: z.string().describe('What the mission should achieve, for you and any voice agent'),
  request: z.string().optional().describe("The user's original request, verbatim"),
  insight_schema: insightSchemaInput.optional(),
};

const PreviewEntry = z.object({
  index: z.number().int(),
  to: z.string(),
  name: z.string().nullable(),
  action: z.enum(['call', 'deferred', 'skipped']),
  at: z.string().nullable().describe('Earliest dial time, UTC'),
  local_time: z.string().nullable().describe("The callee's wall clock then (HH:MM)"),
  timezone: z.string().nullable(),
  code: z.string().nullable().describe('invalid | duplicate | do_not_contact | daily_cap | no_time_zone | calling_hours'),
  reason: z.string().nullable(),
});

/** Campaigns: preview before, approve between rounds, pause and resume. */
export const campaignTools: readonly ToolDefinition[] = [
  defineTool({
    name: 'preview_mission',
    title: 'Preview campaign',
    description:
      'Dry run of create_mission with targets: for each target, when it would be dialed (UTC and its local time) or why it would be skipped (do-not-contact, daily cap, invalid, duplicate) or deferred (outside calling hours until …). Writes nothing; show it to the user before starting a big campaign.',
    input: z.object({ ...missionBase, ...campaignInput }),
    output: z.object({
      class: z.enum(CAMPAIGN_CLASSES),
      order: z.enum(['parallel', 'serial']),
      counts: z.object({ targets: z.number().int(), call: z.number().int(), deferred: z.number().int(), skipped: z.number().int() }),
      targets: z.array(PreviewEntry),
      note: z.string(),
    }),
    annotations: READ_ONLY,
    handle: (app, args) => app.campaigns.preview(args),
  }),

  defineTool({
    name: 'approve_round',
    title: 'Approve next round',
    description:
      'Lets a multi_round campaign waiting at its approval gate (status awaiting_approval) go on: round 2 calls the top `rounds.advance_top` of the ranking, or the round-1 numbers you pass in `targets`. Clients with elicitation are asked directly instead.',
    input: z.object({ mission_id: missionRef, targets: z.array(phoneNumber).max(100).optional().describe('Round-1 numbers to call in round 2 instead of the top N') }),
    output: Mission,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    handle: (app, { mission_id, targets }) => app.campaigns.approve(mission_id, targets),
  }),

  defineTool({
    name: 'pause_mission',
    title: 'Pause mission',
    description: 'Pauses an active mission or campaign: nothing new is dialed or sent (scheduled calls and SMS wait); calls already live finish. resume_mission goes on.',
    input: z.object({ mission_id: missionRef }),
    output: Mission,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    handle: (app, { mission_id }) => app.campaigns.pause(mission_id),
  }),

  defineTool({
    name: 'resume_mission',
    title: 'Resume mission',
    description: 'Resumes a paused mission: its waiting calls and SMS are queued again inside calling hours, and a campaign takes its next step.',
    input: z.object({ mission_id: missionRef }),
    output: Mission,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    handle: (app, { mission_id }) => app.campaigns.resume(mission_id),
  }),
];
