import { z } from 'zod';
import { CALL_STATUSES, RETRYABLE_ENDS } from '../calls/lifecycle.js';
import { SMS_STATUSES } from '../messages/lifecycle.js';
import { MISSION_STATUSES, STEP_STATUSES } from '../missions/lifecycle.js';
import { DO_NOT_CONTACT_SOURCES } from '../guardrails/do-not-contact.js';
import { AMD_MODES, CALL_MODES } from '../telephony/provider.js';

/** Output shapes of the tools, shared by tools and resources. Inputs live beside each tool. */

const json = z.unknown();

/** A phone number input; the domain checks E.164 itself so the refusal can say how to fix it. */
export const phoneNumber = z.string().describe('E.164 phone number, e.g. +15551234567');
const time = z.string().describe('ISO 8601 time');
const nullableTime = time.nullable();

const isJsonObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A JSON object from the client, kept exactly as given. z.record copies into a fresh object and so drops a
 * `__proto__` key without a word; this validates without copying. Its JSON Schema is z.record's.
 */
export const jsonObject = z
  .unknown()
  .refine(isJsonObject, 'must be a JSON object')
  .meta({ type: 'object', propertyNames: { type: 'string' }, additionalProperties: {} }) as unknown as z.ZodType<Record<string, unknown>>;

export const insightSchemaInput = z
  .record(z.string(), z.unknown())
  .describe('JSON Schema object whose `properties` name the fields to collect, e.g. {"type":"object","properties":{"price":{"type":"string","description":"quoted price"}}}');

/** A call's retry policy, as initiate_call and a campaign's `call` take it. */
export const retryInput = z.object({
  max_attempts: z.number().int().describe('1–10, counting the first try'),
  interval_seconds: z.number().describe('Wait between attempts, 0–86400'),
  on: z.array(z.enum(RETRYABLE_ENDS)).optional().describe('Outcomes that trigger a retry; default busy, no_answer, failed (add voicemail to call back a machine)'),
});

/** Why the guardrails moved work later, shown on calls and messages. */
const Deferred = z
  .object({ until: time, code: z.string().describe('calling_hours | daily_cap'), reason: z.string() })
  .nullable()
  .describe('The last time calling hours or a daily cap moved this later, and why (it stays after it goes out); null if never');

export const Step = z.object({
  step_id: z.string(),
  description: z.string(),
  status: z.enum(STEP_STATUSES),
  note: z.string().nullable(),
  updated_at: time,
});

export const Mission = z.object({
  mission_id: z.string(),
  slug: z.string(),
  name: z.string(),
  instructions: z.string(),
  request: z.string().nullable(),
  status: z.enum(MISSION_STATUSES),
  insight_schema: z.record(z.string(), json).nullable(),
  steps: z.array(Step),
  summary: z.string().nullable(),
  result: json,
  created_at: time,
  updated_at: time,
  ended_at: nullableTime,
});

export const MissionSummary = z.object({
  mission_id: z.string(),
  slug: z.string(),
  name: z.string(),
  status: z.enum(MISSION_STATUSES),
  steps_total: z.number().int(),
  steps_open: z.number().int(),
  created_at: time,
  updated_at: time,
});

export const MissionEvent = z.object({
  seq: z.number().int(),
  type: z.string(),
  summary: z.string(),
  step_id: z.string().nullable(),
  payload: json,
  source: z.enum(['client', 'switchboard']),
  created_at: time,
});

export const CallSummary = z.object({
  call_id: z.string(),
  direction: z.enum(['outbound', 'inbound']),
  to: z.string(),
  from: z.string().nullable(),
  mode: z.enum(CALL_MODES),
  status: z.enum(CALL_STATUSES),
  scheduled_at: time,
  ended_at: nullableTime,
  mission_id: z.string().nullable(),
  step_id: z.string().nullable(),
  attempts: z.number().int(),
  outcome: z.string().nullable(),
});

export const Call = CallSummary.omit({ attempts: true }).extend({
  message: z.string().nullable().describe('notify: the text spoken; agent: the opening line'),
  instructions: z.string().nullable().describe('What the agent was told to achieve (a campaign adds what earlier calls learned)'),
  answered_by: z.string().nullable(),
  answered_at: nullableTime,
  duration_seconds: z.number().nullable(),
  attempts: z.array(
    z.object({
      attempt: z.number().int(),
      status: z.string(),
      answered_by: z.string().nullable(),
      hangup_cause: z.string().nullable(),
      error_code: z.string().nullable(),
      error_message: z.string().nullable(),
      started_at: time,
      answered_at: nullableTime,
      ended_at: nullableTime,
    }),
  ),
  transcript: z.array(z.object({ attempt: z.number().int(), speaker: z.enum(['agent', 'callee']), text: z.string(), at: time })),
  latency: z
    .object({
      turns: z.number().int(),
      model_ms: z.object({ p50: z.number(), p95: z.number() }),
      first_frame_ms: z.object({ p50: z.number(), p95: z.number() }),
    })
    .nullable()
    .describe('Live voice only: per-turn delay from the callee going quiet to the first model audio, and to the first frame sent to the carrier.'),
  summary: z.string().nullable(),
  fields: z.record(z.string(), json),
  error: z.object({ code: z.string().nullable(), message: z.string() }).nullable(),
  timezone: z.string().nullable().describe('The callee\'s IANA time zone when given; else calling hours use the zones of the number'),
  deferred: Deferred,
  retry: z.object({ max_attempts: z.number().int(), interval_seconds: z.number(), on: z.array(z.string()) }).nullable(),
  assistant_id: z.string().nullable(),
  metadata: z.record(z.string(), json).nullable(),
  created_at: time,
  updated_at: time,
});

export const Message = z.object({
  message_id: z.string(),
  direction: z.enum(['outbound', 'inbound']),
  to: z.string(),
  from: z.string().nullable(),
  body: z.string(),
  status: z.enum(SMS_STATUSES),
  error: z.object({ code: z.string().nullable(), message: z.string() }).nullable(),
  scheduled_at: time,
  timezone: z.string().nullable().describe('The recipient\'s IANA time zone when given; else calling hours use the zones of the number'),
  deferred: Deferred,
  sent_at: nullableTime,
  ended_at: nullableTime,
  mission_id: z.string().nullable(),
  step_id: z.string().nullable(),
  created_at: time,
  updated_at: time,
});

/** Where a campaign stands (its current round). */
export const CampaignProgress = z
  .object({
    class: z.string(),
    round: z.number().int(),
    targets: z.number().int(),
    waiting: z.number().int().describe('Not called yet (negotiation calls one at a time)'),
    on_call: z.number().int().describe('Called and not ended: ringing, talking, deferred or waiting to retry'),
    done: z.number().int(),
    skipped: z.array(z.object({ index: z.number().int(), to: z.string(), code: z.string(), reason: z.string() })).describe('Targets not called, by their index in `targets`, and why'),
  })
  .nullable()
  .describe('Missions with targets only');

export const MissionDetail = Mission.extend({
  calls: z.array(CallSummary),
  messages: z.array(Message),
  memory: z.record(z.string(), json),
  recent_events: z.array(MissionEvent),
  campaign: CampaignProgress,
});

export const Assistant = z.object({
  assistant_id: z.string(),
  name: z.string(),
  instructions: z.string(),
  greeting: z.string().nullable(),
  voice: z.string().nullable(),
  insight_schema: z.record(z.string(), json).nullable(),
  amd: z.enum(AMD_MODES),
  voicemail_message: z.string().nullable(),
  created_at: time,
  updated_at: time,
});

export const CallInsight = z.object({
  call_id: z.string(),
  status: z.enum(['pending', 'ready', 'unavailable']),
  summary: z.string().nullable(),
  outcome: z.string().nullable(),
  fields: z.record(z.string(), json),
  source: z.string(),
});

export const DoNotContactEntry = z.object({ number: z.string(), reason: z.string(), source: z.enum(DO_NOT_CONTACT_SOURCES), created_at: time });
