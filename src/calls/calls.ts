import type { Assistants } from '../assistants/assistants.js';
import { UserError } from '../errors.js';
import type { DoNotContact } from '../guardrails/do-not-contact.js';
import { newId } from '../ids.js';
import type { AgentReport, Insights } from '../insights/insights.js';
import { insightFields, validateInsightSchema, type InsightSchema } from '../insights/schema.js';
import { fromJsonText, toJsonText } from '../json.js';
import { LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import type { LinkedWork } from '../missions/linked-work.js';
import { e164Message, isE164, senderNumber } from '../phone.js';
import type { Scheduler, WorkItem } from '../scheduler/scheduler.js';
import type { Store } from '../store/store.js';
import { CallRecords, type AttemptRow, type Call, type CallRow, type RetryPolicy } from './records.js';
import { CarrierError, type Amd, type CallMode, type CallRef, type CarrierEvent, type TelephonyProvider } from '../telephony/provider.js';
import { iso, nowIso, parseScheduledAt } from '../time.js';
import { withDisclosure } from '../voice/disclosure.js';
import type { AgentPlan } from '../voice/engine.js';
import { attemptMachine, callMachine, isLive, isWaiting, LIVE_SQL, OPEN_SQL, RETRYABLE_ENDS, type AttemptStatus, type CallEnd, type CallStatus, type EndReason, type RetryableEnd } from './lifecycle.js';

export type InitiateCallInput = {
  to: string;
  from?: string;
  mode?: CallMode;
  message?: string;
  instructions?: string;
  assistant_id?: string;
  insight_schema?: unknown;
  scheduled_at?: string;
  retry?: { max_attempts: number; interval_seconds: number; on?: RetryableEnd[] };
  amd?: Amd;
  voicemail_message?: string;
  mission_id?: string;
  step_id?: string;
  idempotency_key?: string;
  metadata?: Record<string, unknown>;
};


export type CallsOptions = {
  fromNumber: string | undefined;
  ringTimeoutSeconds: number;
  maxCallSeconds: number;
};

/**
 * Calls from request to final status: validation, scheduling, one attempt per dial, carrier events
 * applied through the call and attempt state machines, retries, and the mission step they serve.
 */
export class Calls extends CallRecords {
  constructor(
    store: Store,
    private readonly deps: {
      provider: TelephonyProvider;
      scheduler: Scheduler;
      assistants: Assistants;
      insights: Insights;
      doNotContact: DoNotContact;
      linkedWork: LinkedWork;
      log: Logger;
    },
    private readonly opts: CallsOptions,
  ) {
    super(store, deps.insights, deps.provider.name);
  }

  initiate(input: InitiateCallInput): { call: Call; created: boolean } {
    const { provider, scheduler, assistants, insights, linkedWork } = this.deps;
    if (!isE164(input.to)) throw new UserError(e164Message('to', input.to));
    const from = senderNumber(input.from, this.opts.fromNumber ?? provider.defaultFromNumber);
    const mode = input.mode ?? 'agent';
    if (!provider.supportedModes.includes(mode)) {
      throw new UserError(
        `mode "${mode}" needs the live voice bridge, which is not available on the ${provider.name} carrier yet; use mode "notify" with a \`message\`, or the sim carrier.`,
      );
    }
    if (mode === 'notify' && !input.message?.trim()) throw new UserError('mode "notify" needs a `message`: the text the call will speak.');
    const dueMs = parseScheduledAt(input.scheduled_at);
    const retry = input.retry && validateRetry(input.retry);
    const assistant = input.assistant_id === undefined ? undefined : assistants.get(input.assistant_id);
    const schemaValue = input.insight_schema ?? assistant?.insight_schema ?? undefined;
    const schema = schemaValue === undefined ? undefined : validateInsightSchema(schemaValue);
    const amd = input.amd ?? assistant?.amd ?? 'off';
    const metadata = input.metadata === undefined ? null : toJsonText(input.metadata, 'metadata', LIMITS.metadata);
    if (input.step_id !== undefined && input.mission_id === undefined) throw new UserError('`step_id` needs `mission_id` too.');

    return this.store.tx(() => {
      if (input.idempotency_key !== undefined) {
        const existing = this.store.sql('SELECT id FROM calls WHERE idempotency_key = ?').get(input.idempotency_key) as { id: string } | undefined;
        if (existing) return { call: this.get(existing.id), created: false };
      }
      if (this.deps.doNotContact.has(input.to)) throw new UserError(`${input.to} is on the do-not-contact list, so no call was placed.`);
      const missionId = input.mission_id === undefined ? null : linkedWork.resolveTarget(input.mission_id, input.step_id);
      const missionSchema = missionId && !schema ? linkedWork.missionInsightSchema(missionId) : undefined;
      const id = newId('call');
      const now = nowIso();
      this.store
        .sql(
          `INSERT INTO calls (id, direction, to_number, from_number, mode, message, instructions, assistant_id, insight_schema, amd,
             voicemail_message, retry, status, mission_id, step_id, idempotency_key, metadata, scheduled_at, created_at, updated_at)
           VALUES (?, 'outbound', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id, input.to, from, mode, input.message ?? assistant?.greeting ?? null, input.instructions ?? assistant?.instructions ?? null,
          assistant?.assistant_id ?? null, toJsonOrNull(schema ?? missionSchema), amd,
          input.voicemail_message ?? assistant?.voicemail_message ?? null, toJsonOrNull(retry),
          missionId, input.step_id ?? null, input.idempotency_key ?? null, metadata, iso(dueMs), now, now,
        );
      insights.open(id);
      scheduler.enqueue('call', id, dueMs);
      this.announce(id, missionId);
      return { call: this.get(id), created: true };
    });
  }

  /**
   * For a call placed now: waits (briefly) until the carrier has taken or refused its first attempt, so a
   * refusal reaches the caller as an error rather than a status to discover later. A call that must wait
   * for a free line, or the time limit, returns as it stands.
   */
  async confirmDial(callId: string, timeoutMs = 10_000): Promise<Call> {
    await this.store.changes.settle(
      (change) => change.kind === 'call' && change.id === callId,
      () => {
        const { status } = this.statusOf(callId);
        if (status === 'scheduled' || status === 'dialing') return status === 'dialing' && this.currentAttempt(callId)?.provider_call_id != null;
        return true;
      },
      timeoutMs,
    );
    const call = this.get(callId);
    const first = call.attempts[0];
    if (call.status === 'failed' && first?.hangup_cause === 'carrier_rejected') {
      throw new UserError(
        `The carrier refused the call${first.error_code ? ` (code ${first.error_code})` : ''}: ${first.error_message ?? 'no reason given'}. Call ${callId} ended failed; get_call has the details.`,
      );
    }
    // Refused before it reached the carrier (the number was blocked in the meantime): as much a refusal.
    if (call.status === 'failed' && !first && call.error) throw new UserError(`${call.error.message} Call ${callId} ended failed.`);
    return call;
  }

  /** `end_call`: cancels a call that has not been dialed, or hangs up a live one. Ending an ended call changes nothing. */
  end(callId: string): Call {
    this.endOnPurpose(callId, 'client');
    return this.get(callId);
  }

  /**
   * The one path for ending a call on purpose (the client, its mission ending, its number blocked): undialed work
   * is canceled; a live call is marked so its end is never retried, then hung up once that mark is committed.
   */
  endOnPurpose(callId: string, reason: EndReason): void {
    this.store.tx(() => {
      const row = this.row(callId);
      if (isWaiting(row.status)) {
        this.deps.scheduler.cancel(callId);
        this.finishCall(row, 'canceled', END_REASONS[reason]);
      } else if (isLive(row.status)) {
        this.store.sql('UPDATE calls SET end_requested_at = coalesce(end_requested_at, ?), end_reason = coalesce(end_reason, ?) WHERE id = ?').run(nowIso(), reason, callId);
        const providerCallId = this.currentAttempt(callId)?.provider_call_id;
        // Without the carrier's id yet, the hangup follows as soon as the dial response brings it (see dispatch).
        if (providerCallId) this.store.afterCommit(() => void this.hangupQuietly(providerCallId));
      }
    });
  }

  /** Every call of a mission that ended (cancelled or failed by the client) stops: none is dialed again. */
  endForMission(missionId: string): void {
    const ids = this.store.sql(`SELECT id FROM calls WHERE mission_id = ? AND status IN (${OPEN_SQL})`).all(missionId) as { id: string }[];
    for (const { id } of ids) this.endOnPurpose(id, 'mission_ended');
  }

  /** A number went on the do-not-contact list: its live calls are hung up now (scheduled ones are refused at dispatch). */
  endForNumber(number: string): void {
    const ids = this.store.sql(`SELECT id FROM calls WHERE to_number = ? AND status IN (${LIVE_SQL})`).all(number) as { id: string }[];
    for (const { id } of ids) this.endOnPurpose(id, 'do_not_contact');
  }

  liveCount(): number {
    return (this.store.sql(`SELECT count(*) AS n FROM calls WHERE status IN (${LIVE_SQL})`).get() as { n: number }).n;
  }

  /** A due call must wait for a line. */
  markWaiting(callId: string): void {
    this.store.tx(() => {
      const row = this.row(callId);
      if (row.status === 'scheduled') this.moveCall(row, 'queued');
    });
  }

  /** Starts one attempt of a due call: claim, checks, attempt row and `dialing` in one transaction, then the carrier. */
  dispatch(item: WorkItem): void {
    const { scheduler, provider, doNotContact, linkedWork } = this.deps;
    const request = this.store.tx(() => {
      if (!scheduler.claim(item.id)) return null;
      const row = this.row(item.ref_id);
      if (!isWaiting(row.status)) return null;
      if (doNotContact.has(row.to_number)) {
        this.finishCall(row, 'failed', { code: 'do_not_contact', message: `${row.to_number} is on the do-not-contact list; the call was not placed.` });
        return null;
      }
      const attempt = (this.store.sql('SELECT count(*) AS n FROM call_attempts WHERE call_id = ?').get(row.id) as { n: number }).n + 1;
      this.store
        .sql(`INSERT INTO call_attempts (call_id, attempt, provider, status, started_at) VALUES (?, ?, ?, 'dialing', ?)`)
        .run(row.id, attempt, provider.name, nowIso());
      this.moveCall(row, 'dialing');
      if (row.mission_id && row.step_id) linkedWork.started(row.mission_id, row.step_id);
      return {
        callId: row.id,
        attempt,
        to: row.to_number,
        from: row.from_number!,
        mode: row.mode,
        message: row.message ?? undefined,
        amd: row.amd,
        voicemailMessage: row.voicemail_message ?? undefined,
        ringTimeoutSeconds: this.opts.ringTimeoutSeconds,
        maxDurationSeconds: this.opts.maxCallSeconds,
        idempotencyKey: `${row.id}-${attempt}`,
      };
    });
    if (!request) return;
    provider.placeCall(request).then(
      ({ providerCallId }) =>
        this.store.tx(() => {
          this.store
            .sql('UPDATE call_attempts SET provider_call_id = ? WHERE call_id = ? AND attempt = ? AND provider_call_id IS NULL')
            .run(providerCallId, request.callId, request.attempt);
          // Ended on purpose while the carrier was still taking the dial.
          if (this.row(request.callId).end_requested_at) this.store.afterCommit(() => void this.hangupQuietly(providerCallId));
          this.announce(request.callId);
        }),
      (err: unknown) => {
        const carrier = err instanceof CarrierError ? err : new CarrierError(String((err as Error)?.message ?? err), 'carrier_error');
        this.deps.log.warn({ callId: request.callId, attempt: request.attempt, code: carrier.code }, 'carrier refused the call');
        // A refusal the carrier says is final (bad number, bad credentials) is not worth a retry.
        this.store.tx(() =>
          this.endAttempt({ callId: request.callId, attempt: request.attempt }, 'failed', { cause: 'carrier_rejected', code: carrier.code, message: carrier.message }, carrier.retryable),
        );
      },
    );
  }

  /** Applies one normalised carrier event about a call; late or repeated events never move it backwards. */
  apply(event: Extract<CarrierEvent, CallRef>): void {
    if (event.type === 'call.inbound') return;
    const attempt = this.findAttempt(event);
    if (!attempt) {
      this.deps.log.debug({ event: event.type, providerCallId: event.providerCallId }, 'event for an unknown call ignored');
      return;
    }
    const { call_id: callId } = attempt;
    switch (event.type) {
      case 'call.ringing':
      case 'call.answered': {
        const to: AttemptStatus = event.type === 'call.ringing' ? 'ringing' : 'in_progress';
        const answeredAt = to === 'in_progress' ? event.at : null;
        if (!attemptMachine.canMove(attempt.status, to)) {
          // A late "answered" cannot move the call back, but it still tells when the talking started.
          if (answeredAt && (attempt.status === 'completed' || attempt.status === 'voicemail')) this.backfillAnswer(attempt, answeredAt);
          return;
        }
        this.store
          .sql('UPDATE call_attempts SET status = ?, answered_at = coalesce(answered_at, ?) WHERE call_id = ? AND attempt = ?')
          .run(to, answeredAt, callId, attempt.attempt);
        const row = this.row(callId);
        if (this.isCurrent(attempt) && callMachine.canMove(row.status, to)) {
          this.moveCall(row, to, answeredAt ? { answered_at: answeredAt } : {});
        }
        return;
      }
      case 'call.answered_by':
        this.store.sql('UPDATE call_attempts SET answered_by = ? WHERE call_id = ? AND attempt = ?').run(event.answeredBy, callId, attempt.attempt);
        this.store.sql('UPDATE calls SET answered_by = ?, updated_at = ? WHERE id = ?').run(event.answeredBy, nowIso(), callId);
        return this.announce(callId);
      case 'call.dtmf':
        return this.addTurn(callId, attempt.attempt, 'agent', `(pressed ${event.digits})`, event.at);
      case 'call.transcript':
        return this.addTurn(callId, attempt.attempt, event.speaker, event.text, event.at);
      case 'call.report':
        this.deps.insights.record(callId, event.report);
        return this.announce(callId);
      case 'call.ended':
        return this.endAttempt(attempt, event.status, { cause: event.cause, code: event.errorCode, message: event.errorMessage, at: event.at });
    }
  }

  /** Records an inbound call the carrier adapter already accepted under the inbound policy. */
  recordInbound(event: Extract<CarrierEvent, { type: 'call.inbound' }>, provider: string): void {
    if (this.store.sql('SELECT 1 FROM call_attempts WHERE provider = ? AND provider_call_id = ?').get(provider, event.providerCallId)) return;
    const id = newId('call');
    this.store
      .sql(
        `INSERT INTO calls (id, direction, to_number, from_number, mode, amd, status, scheduled_at, created_at, updated_at)
         VALUES (?, 'inbound', ?, ?, 'conversation', 'off', 'ringing', ?, ?, ?)`,
      )
      .run(id, event.to, event.from, event.at, event.at, event.at);
    this.store
      .sql(`INSERT INTO call_attempts (call_id, attempt, provider, provider_call_id, status, started_at) VALUES (?, 1, ?, ?, 'ringing', ?)`)
      .run(id, provider, event.providerCallId, event.at);
    this.deps.insights.open(id);
    this.announce(id);
  }

  /** What the voice agent should do on this attempt. */
  agentPlan(ref: CallRef): { callId: string; plan: AgentPlan } | undefined {
    const attempt = this.findAttempt(ref);
    if (!attempt) return undefined;
    const row = this.row(attempt.call_id);
    return {
      callId: row.id,
      plan: {
        mode: row.mode,
        message: row.message,
        instructions: row.instructions,
        fields: insightFields(fromJsonText<InsightSchema>(row.insight_schema) ?? undefined),
        voicemailMessage: row.voicemail_message,
      },
    };
  }

  /** What the carrier adapter needs to drive an attempt from its webhooks. */
  liveInfo(ref: CallRef) {
    const attempt = this.findAttempt(ref);
    if (!attempt) return undefined;
    const row = this.row(attempt.call_id);
    // Carriers speak these verbatim, so the AI disclosure is added here, once, for all of them.
    return {
      callId: row.id,
      attempt: attempt.attempt,
      mode: row.mode,
      message: withDisclosure(row.message),
      amd: row.amd,
      voicemailMessage: withDisclosure(row.voicemail_message),
      status: attempt.status,
    };
  }

  recordReport(callId: string, report: AgentReport): void {
    this.store.tx(() => {
      this.deps.insights.record(callId, report);
      this.announce(callId);
    });
  }

  /**
   * After a restart: attempts whose calls cannot report any more (the carrier forgets them, or we never
   * learned the carrier's id) end `failed` without a retry, so no number is dialed twice.
   */
  recoverAfterRestart(): number {
    const stale = this.store
      .sql(`SELECT a.* FROM call_attempts a JOIN calls c ON c.id = a.call_id WHERE a.status IN (${LIVE_SQL})`)
      .all() as AttemptRow[];
    let ended = 0;
    this.store.tx(() => {
      for (const a of stale) {
        if (this.deps.provider.callsSurviveRestart && a.provider_call_id) continue;
        this.endAttempt(a, 'failed', { cause: 'interrupted', code: 'interrupted', message: 'Switchboard stopped while this attempt was live; it was not retried, so the number is not dialed twice.' }, false);
        ended++;
      }
      // Claimed work always has its attempt row (same transaction), so nothing claimed is lost.
    });
    return ended;
  }

  private endAttempt(
    ref: { call_id: string; attempt: number } | { callId: string; attempt: number },
    status: CallEnd,
    detail: { cause?: string; code?: string; message?: string; at?: string },
    allowRetry = true,
  ): void {
    const callId = 'call_id' in ref ? ref.call_id : ref.callId;
    const attempt = this.store.sql('SELECT * FROM call_attempts WHERE call_id = ? AND attempt = ?').get(callId, ref.attempt) as AttemptRow | undefined;
    if (!attempt) return;
    const endedOnPurpose = this.row(callId).end_reason;
    if (endedOnPurpose) {
      allowRetry = false;
      if (!attempt.answered_at && status !== 'failed') status = 'canceled';
    }
    if (!attemptMachine.canMove(attempt.status, status)) return;
    // Carrier clocks may be coarser than ours (Twilio sends whole seconds); an end never precedes the start.
    const at = [detail.at ?? nowIso(), attempt.started_at].sort()[1];
    this.store
      .sql('UPDATE call_attempts SET status = ?, hangup_cause = ?, error_code = ?, error_message = ?, ended_at = ? WHERE call_id = ? AND attempt = ?')
      .run(status, detail.cause ?? null, detail.code ?? null, detail.message ?? null, at, callId, ref.attempt);
    if (!this.isCurrent(attempt)) return;
    const row = this.row(callId);
    if (callMachine.isTerminal(row.status)) return;
    const retry = fromJsonText<RetryPolicy>(row.retry);
    const retryable = (RETRYABLE_ENDS as readonly string[]).includes(status) && retry?.on.includes(status as RetryableEnd);
    if (allowRetry && retry && retryable && ref.attempt < retry.max_attempts) {
      const dueMs = Date.now() + retry.interval_seconds * 1000;
      this.moveCall(row, 'scheduled', { scheduled_at: iso(dueMs) });
      this.deps.scheduler.enqueue('call', callId, dueMs);
    } else {
      const error = endedOnPurpose
        ? END_REASONS[endedOnPurpose]
        : detail.message || detail.code
          ? { code: detail.code ?? null, message: detail.message ?? describeEnd(status, detail) }
          : null;
      this.finishCall(row, status, error, at);
    }
    this.deps.scheduler.wake();
  }

  private finishCall(row: CallRow, status: CallEnd, error: { code: string | null; message: string } | null, at = nowIso()): void {
    this.moveCall(row, status, { ended_at: at, error_code: error?.code ?? null, error_message: error?.message ?? null });
    this.deps.insights.close(row.id, status, row.mode);
    if (row.mission_id && row.step_id) this.deps.linkedWork.settled(row.mission_id, row.step_id);
  }

  /** The one place a call's status changes. */
  private moveCall(row: CallRow, to: CallStatus, extra: Partial<Pick<CallRow, 'answered_at' | 'ended_at' | 'scheduled_at' | 'error_code' | 'error_message'>> = {}): void {
    callMachine.assertMove(row.status, to, `call ${row.id}`);
    const cols = Object.keys(extra) as (keyof typeof extra)[];
    const sets = ['status = ?', 'updated_at = ?', ...cols.map((c) => `${c} = ?`)].join(', ');
    this.store.sql(`UPDATE calls SET ${sets} WHERE id = ?`).run(to, nowIso(), ...cols.map((c) => extra[c] ?? null), row.id);
    row.status = to;
    this.announce(row.id, row.mission_id);
  }

  private backfillAnswer(attempt: AttemptRow, answeredAt: string): void {
    this.store.sql('UPDATE call_attempts SET answered_at = coalesce(answered_at, ?) WHERE call_id = ? AND attempt = ?').run(answeredAt, attempt.call_id, attempt.attempt);
    if (this.isCurrent(attempt)) this.store.sql('UPDATE calls SET answered_at = coalesce(answered_at, ?) WHERE id = ?').run(answeredAt, attempt.call_id);
    this.announce(attempt.call_id);
  }

  private addTurn(callId: string, attempt: number, speaker: 'agent' | 'callee', text: string, at: string): void {
    this.store.sql('INSERT INTO transcript_turns (call_id, attempt, speaker, text, at) VALUES (?, ?, ?, ?, ?)').run(callId, attempt, speaker, text, at);
    this.store.announce({ kind: 'call', id: callId, transcript: true });
  }

  private announce(callId: string, missionId?: string | null): void {
    this.store.announce({ kind: 'call', id: callId, transcript: false });
    if (missionId) this.store.announce({ kind: 'mission', id: missionId });
  }

  private async hangupQuietly(providerCallId: string): Promise<void> {
    try {
      await this.deps.provider.hangup(providerCallId);
    } catch (err) {
      this.deps.log.warn({ err, providerCallId }, 'hangup failed');
    }
  }
}

/** Why a call was ended on purpose, as get_call shows it. */
const END_REASONS: Record<EndReason, { code: string; message: string }> = {
  client: { code: 'ended_by_client', message: 'Ended on request (end_call); not retried.' },
  mission_ended: { code: 'mission_ended', message: 'Ended because its mission ended; not retried.' },
  do_not_contact: { code: 'do_not_contact', message: 'Ended because the number was put on the do-not-contact list; not retried.' },
};

const toJsonOrNull = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

function describeEnd(status: CallEnd, detail: { cause?: string; code?: string }): string {
  const why = [detail.cause, detail.code && `code ${detail.code}`].filter(Boolean).join(', ');
  return `The carrier ended the call ${status.replace('_', ' ')}${why ? ` (${why})` : ''}.`;
}

function validateRetry(r: NonNullable<InitiateCallInput['retry']>): RetryPolicy {
  if (!Number.isInteger(r.max_attempts) || r.max_attempts < 1 || r.max_attempts > 10) {
    throw new UserError(`\`retry.max_attempts\` must be a whole number from 1 to 10 (got ${r.max_attempts}); it counts the first try.`);
  }
  if (!(r.interval_seconds >= 0 && r.interval_seconds <= 86_400)) {
    throw new UserError(`\`retry.interval_seconds\` must be between 0 and 86400 (got ${r.interval_seconds}).`);
  }
  const on = r.on ?? [...RETRYABLE_ENDS];
  if (on.length === 0) throw new UserError('`retry.on` must list at least one of busy, no_answer, failed (or be left out for all three).');
  return { max_attempts: r.max_attempts, interval_seconds: r.interval_seconds, on };
}
