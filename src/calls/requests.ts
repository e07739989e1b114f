import { UserError } from '../errors.js';
import { checkTimeZone } from '../guardrails/calling-hours.js';
import { newId } from '../ids.js';
import { validateInsightSchema } from '../insights/schema.js';
import { toJsonText } from '../json.js';
import { LIMITS } from '../limits.js';
import { e164Message, isE164, senderNumber } from '../phone.js';
import { carrierName, unsupportedMode } from '../telephony/modes.js';
import type { Amd, CallMode } from '../telephony/provider.js';
import { iso, nowIso, parseScheduledAt } from '../time.js';
import type { CallsContext } from './context.js';
import { DEFAULT_RETRY_ON, type RetryableEnd } from './lifecycle.js';
import type { Call, CallRetryPolicy } from './records.js';

export type InitiateCallInput = {
  to: string;
  from?: string;
  mode?: CallMode;
  message?: string;
  instructions?: string;
  assistant_id?: string;
  insight_schema?: unknown;
  scheduled_at?: string;
  /** The callee's IANA time zone, for calling hours; default: the zones of the number. */
  timezone?: string;
  retry?: { max_attempts: number; interval_seconds: number; on?: RetryableEnd[] };
  amd?: Amd;
  voicemail_message?: string;
  mission_id?: string;
  step_id?: string;
  idempotency_key?: string;
  metadata?: Record<string, unknown>;
};

/** A new call: checked, filled in from its assistant and mission, stored `scheduled` and queued, in one transaction. */
export function initiateCall(c: CallsContext, input: InitiateCallInput): { call: Call; created: boolean } {
  const { store, provider, assistants, linkedWork } = c;
  if (!isE164(input.to)) throw new UserError(e164Message('to', input.to));
  const from = senderNumber(input.from, c.opts.fromNumber ?? provider.defaultFromNumber);
  const mode = input.mode ?? 'agent';
  if (!provider.supportedModes.includes(mode)) {
    throw new UserError(unsupportedMode(carrierName(provider.name), mode, provider.supportedModes));
  }
  if (mode === 'notify' && !input.message?.trim()) throw new UserError('mode "notify" needs a `message`: the text the call will speak.');
  let dueMs = parseScheduledAt(input.scheduled_at, c.scheduler.now());
  const timezone = input.timezone === undefined ? null : checkTimeZone(input.timezone);
  const retry = input.retry && validateRetry(input.retry);
  const assistant = input.assistant_id === undefined ? undefined : assistants.get(input.assistant_id);
  const schemaValue = input.insight_schema ?? assistant?.insight_schema ?? undefined;
  const schema = schemaValue === undefined ? undefined : validateInsightSchema(schemaValue);
  const amd = input.amd ?? assistant?.amd ?? 'off';
  const metadata = input.metadata === undefined ? null : toJsonText(input.metadata, 'metadata', LIMITS.metadata);
  if (input.step_id !== undefined && input.mission_id === undefined) throw new UserError('`step_id` needs `mission_id` too.');

  return store.tx(() => {
    if (input.idempotency_key !== undefined) {
      const existing = store.sql('SELECT id FROM calls WHERE idempotency_key = ?').get(input.idempotency_key) as { id: string } | undefined;
      if (existing) return { call: c.records.get(existing.id), created: false };
    }
    if (c.doNotContact.has(input.to)) throw new UserError(`${input.to} is on the do-not-contact list, so no call was placed.`, { code: 'refused' });
    // Calling hours and the daily cap at the time asked for: work due outside them is accepted for the next opening.
    const deferred = c.guard.checkRequest('call', input.to, timezone, dueMs);
    if (deferred) dueMs = deferred.until;
    const missionId = input.mission_id === undefined ? null : linkedWork.resolveTarget(input.mission_id, input.step_id);
    const missionSchema = missionId && !schema ? linkedWork.missionInsightSchema(missionId) : undefined;
    const id = newId('call');
    const now = nowIso();
    store
      .sql(
        `INSERT INTO calls (id, direction, to_number, from_number, mode, message, instructions, assistant_id, insight_schema, amd,
           voicemail_message, retry, status, mission_id, step_id, idempotency_key, metadata, scheduled_at, timezone,
           deferred_until, deferred_code, deferred_reason, created_at, updated_at)
         VALUES (?, 'outbound', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id, input.to, from, mode, input.message ?? assistant?.greeting ?? null, input.instructions ?? assistant?.instructions ?? null,
        assistant?.assistant_id ?? null, toJsonOrNull(schema ?? missionSchema), amd,
        input.voicemail_message ?? assistant?.voicemail_message ?? null, toJsonOrNull(retry),
        missionId, input.step_id ?? null, input.idempotency_key ?? null, metadata, iso(dueMs), timezone,
        deferred && iso(deferred.until), deferred?.code ?? null, deferred?.reason ?? null, now, now,
      );
    c.insights.open(id);
    c.scheduler.enqueue('call', id, dueMs);
    if (deferred) c.ledger.noteDeferral({ id, to_number: input.to, mission_id: missionId, step_id: input.step_id ?? null }, { until: iso(deferred.until), code: deferred.code, reason: deferred.reason });
    c.ledger.announce(id, missionId);
    return { call: c.records.get(id), created: true };
  });
}

const toJsonOrNull = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

function validateRetry(r: NonNullable<InitiateCallInput['retry']>): CallRetryPolicy {
  if (!Number.isInteger(r.max_attempts) || r.max_attempts < 1 || r.max_attempts > 10) {
    throw new UserError(`\`retry.max_attempts\` must be a whole number from 1 to 10 (got ${r.max_attempts}); it counts the first try.`);
  }
  if (!(r.interval_seconds >= 0 && r.interval_seconds <= 86_400)) {
    throw new UserError(`\`retry.interval_seconds\` must be between 0 and 86400 (got ${r.interval_seconds}).`);
  }
  const on = r.on ?? [...DEFAULT_RETRY_ON];
  if (on.length === 0) throw new UserError('`retry.on` must list at least one of busy, no_answer, failed, voicemail (or be left out for busy, no_answer and failed).');
  return { max_attempts: r.max_attempts, interval_seconds: r.interval_seconds, on };
}
