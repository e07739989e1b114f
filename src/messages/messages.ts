import { NotFoundError, UserError } from '../errors.js';
import { checkTimeZone } from '../guardrails/calling-hours.js';
import { optOutKeyword, type DoNotContact } from '../guardrails/do-not-contact.js';
import { deferredOf, type Deferred, type OutboundGuard } from '../guardrails/outbound-guard.js';
import { newId } from '../ids.js';
import type { Logger } from '../log.js';
import type { LinkedWork } from '../missions/linked-work.js';
import { e164Message, isE164, senderNumber } from '../phone.js';
import { dispatchOutbound, type OutboundFlow } from '../scheduler/outbound.js';
import type { Scheduler, WorkItem } from '../scheduler/scheduler.js';
import type { Store } from '../store/store.js';
import type { CarrierEvent, SendSmsRequest, TelephonyProvider } from '../telephony/provider.js';
import { iso, nowIso, parseScheduledAt } from '../time.js';
import { SMS_OUTBOUND_FINAL, smsMachine, type SmsStatus } from './lifecycle.js';

export type Message = {
  message_id: string;
  direction: 'outbound' | 'inbound';
  to: string;
  from: string | null;
  body: string;
  status: SmsStatus;
  error: { code: string | null; message: string } | null;
  scheduled_at: string;
  /** The recipient's IANA time zone when the client gave one. */
  timezone: string | null;
  /** The last time calling hours or the daily cap moved this message later, and why; null if they never did. */
  deferred: Deferred | null;
  sent_at: string | null;
  ended_at: string | null;
  mission_id: string | null;
  step_id: string | null;
  created_at: string;
  updated_at: string;
};

export type ScheduleSmsInput = {
  to: string;
  body: string;
  from?: string;
  scheduled_at?: string;
  /** The recipient's IANA time zone, for calling hours; default: the zones of the number. */
  timezone?: string;
  mission_id?: string;
  step_id?: string;
  idempotency_key?: string;
};

const MAX_BODY = 1600;
const COLUMNS = `id AS message_id, direction, to_number AS "to", from_number AS "from", body, status, error_code, error_message,
  scheduled_at, timezone, deferred_until, deferred_code, deferred_reason, sent_at, ended_at, mission_id, step_id, created_at, updated_at`;
type Row = Omit<Message, 'error' | 'deferred'> & {
  error_code: string | null;
  error_message: string | null;
  deferred_until: string | null;
  deferred_code: string | null;
  deferred_reason: string | null;
};

/** SMS both ways: scheduled sends through the carrier, status callbacks, inbound replies and STOP. */
export class Messages {
  constructor(
    private readonly store: Store,
    private readonly deps: { provider: TelephonyProvider; scheduler: Scheduler; doNotContact: DoNotContact; guard: OutboundGuard; linkedWork: LinkedWork; log: Logger },
    private readonly opts: { fromNumber: string | undefined },
  ) {}

  schedule(input: ScheduleSmsInput): { message: Message; created: boolean } {
    const { provider, scheduler, linkedWork } = this.deps;
    if (!isE164(input.to)) throw new UserError(e164Message('to', input.to));
    const from = senderNumber(input.from, this.opts.fromNumber ?? provider.defaultFromNumber);
    if (!input.body.trim()) throw new UserError('`body` must not be empty.');
    if (input.body.length > MAX_BODY) throw new UserError(`\`body\` is ${input.body.length} characters; carriers take at most ${MAX_BODY}.`);
    if (input.step_id !== undefined && input.mission_id === undefined) throw new UserError('`step_id` needs `mission_id` too.');
    let dueMs = parseScheduledAt(input.scheduled_at, scheduler.now());
    const timezone = input.timezone === undefined ? null : checkTimeZone(input.timezone);
    return this.store.tx(() => {
      if (input.idempotency_key !== undefined) {
        const existing = this.store.sql('SELECT id FROM messages WHERE idempotency_key = ?').get(input.idempotency_key) as { id: string } | undefined;
        if (existing) return { message: this.get(existing.id), created: false };
      }
      if (this.deps.doNotContact.has(input.to)) throw new UserError(`${input.to} is on the do-not-contact list, so no message was sent.`, { code: 'refused' });
      // Calling hours and the daily cap at the time asked for: a message due outside them waits for the next opening.
      const deferred = this.deps.guard.checkRequest('sms', input.to, timezone, dueMs);
      if (deferred) dueMs = deferred.until;
      const missionId = input.mission_id === undefined ? null : linkedWork.resolveTarget(input.mission_id, input.step_id);
      const id = newId('sms');
      const now = nowIso();
      this.store
        .sql(
          `INSERT INTO messages (id, direction, to_number, from_number, body, status, mission_id, step_id, idempotency_key, scheduled_at, timezone,
             deferred_until, deferred_code, deferred_reason, created_at, updated_at)
           VALUES (?, 'outbound', ?, ?, ?, 'scheduled', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id, input.to, from, input.body, missionId, input.step_id ?? null, input.idempotency_key ?? null, iso(dueMs), timezone,
          deferred && iso(deferred.until), deferred?.code ?? null, deferred?.reason ?? null, now, now,
        );
      scheduler.enqueue('sms', id, dueMs);
      this.announce(id, missionId);
      return { message: this.get(id), created: true };
    });
  }

  /** For a message sent now: waits (briefly) until the carrier took or refused it; a refusal is an error. */
  async confirmSend(messageId: string, timeoutMs = 10_000): Promise<Message> {
    const accepted = () => this.store.sql('SELECT provider_message_id FROM messages WHERE id = ?').get(messageId) as { provider_message_id: string | null };
    await this.store.changes.settle(
      (change) => change.kind === 'message' && change.id === messageId,
      () => {
        const { status, deferred_until } = this.row(messageId);
        // Deferred by the guardrails at dispatch: it answers as it stands, `scheduled` with why.
        if (status === 'scheduled') return deferred_until !== null;
        return status !== 'queued' || accepted().provider_message_id !== null;
      },
      timeoutMs,
    );
    const message = this.get(messageId);
    if (message.status === 'failed' && REFUSED_HERE.has(message.error?.code ?? '')) throw new UserError(`${message.error!.message} Message ${messageId} ended failed.`, { code: 'refused' });
    if (message.status === 'failed' && accepted().provider_message_id === null) {
      throw new UserError(
        `The carrier refused the message${message.error?.code ? ` (code ${message.error.code})` : ''}: ${message.error?.message ?? 'no reason given'}. Message ${messageId} ended failed.`,
        { code: 'carrier_refused', hint: { see: 'message', messageId } },
      );
    }
    return message;
  }

  get(messageId: string): Message {
    const row = this.store.sql(`SELECT ${COLUMNS} FROM messages WHERE id = ?`).get(messageId) as Row | undefined;
    if (!row) throw new NotFoundError(`No message has id ${JSON.stringify(messageId)}.`, 'messages');
    return toMessage(row);
  }

  list(filter: { with?: string; mission_id?: string; direction?: 'outbound' | 'inbound'; limit?: number } = {}): Message[] {
    if (filter.with !== undefined && !isE164(filter.with)) throw new UserError(e164Message('with', filter.with));
    const rows = this.store
      .sql(
        `SELECT ${COLUMNS} FROM messages
         WHERE (@peer IS NULL OR to_number = @peer OR from_number = @peer) AND (@mission IS NULL OR mission_id = @mission)
           AND (@direction IS NULL OR direction = @direction)
         ORDER BY created_at DESC, rowid DESC LIMIT @limit`,
      )
      .all({ peer: filter.with ?? null, mission: filter.mission_id ?? null, direction: filter.direction ?? null, limit: filter.limit ?? 50 }) as Row[];
    return rows.map(toMessage);
  }

  /** Sends one due message: claim and checks in a transaction, then the carrier (the flow calls share). */
  dispatch(item: WorkItem): boolean {
    return dispatchOutbound(this.store, this.deps.scheduler, item, this.flow, this.deps.log);
  }

  private readonly flow: OutboundFlow<SendSmsRequest, { providerMessageId: string }> = {
    prepare: (messageId) => {
      const row = this.row(messageId);
      if (row.status !== 'scheduled') return null;
      // Its mission is paused: the message waits, out of the queue, until the mission resumes.
      if (row.mission_id && this.deps.linkedWork.isPaused(row.mission_id)) return null;
      if (this.deps.doNotContact.has(row.to)) {
        this.move(row, 'failed', { error_code: 'do_not_contact', error_message: `${row.to} is on the do-not-contact list; the message was not sent.`, ended_at: nowIso() });
        return null;
      }
      // Calling hours and the daily cap, as they stand now.
      const { guard, scheduler } = this.deps;
      const verdict = guard.check('sms', row.to, row.timezone);
      if (verdict.kind === 'refuse') {
        this.move(row, 'failed', { error_code: verdict.code, error_message: `${verdict.message} The message was not sent.`, ended_at: nowIso() });
        return null;
      }
      if (verdict.kind === 'defer') {
        const until = iso(verdict.until);
        this.store
          .sql('UPDATE messages SET scheduled_at = ?, deferred_until = ?, deferred_code = ?, deferred_reason = ?, updated_at = ? WHERE id = ?')
          .run(until, until, verdict.code, verdict.reason, nowIso(), row.message_id);
        scheduler.enqueue('sms', row.message_id, verdict.until);
        this.announce(row.message_id, row.mission_id);
        return null;
      }
      guard.record('sms', row.to);
      this.move(row, 'queued', { sent_at: null });
      if (row.mission_id && row.step_id) this.deps.linkedWork.started(row.mission_id, row.step_id);
      return { messageId: row.message_id, to: row.to, from: row.from!, body: row.body, idempotencyKey: row.message_id };
    },
    send: (request) => this.deps.provider.sendSms(request),
    accepted: (request, { providerMessageId }) => {
      this.store.sql('UPDATE messages SET provider = ?, provider_message_id = ? WHERE id = ?').run(this.deps.provider.name, providerMessageId, request.messageId);
      this.store.announce({ kind: 'message', id: request.messageId });
    },
    refused: (request, carrier) => {
      const row = this.row(request.messageId);
      if (smsMachine.canMove(row.status, 'failed')) this.move(row, 'failed', { error_code: carrier.code, error_message: carrier.message, ended_at: nowIso() });
    },
  };

  /** Applies a carrier SMS event; late ones never move a message backwards. */
  apply(event: Extract<CarrierEvent, { providerMessageId: string }>): void {
    if (event.type === 'sms.inbound') return this.receive(event);
    const row = this.store.sql(`SELECT ${COLUMNS} FROM messages WHERE provider = ? AND provider_message_id = ?`).get(this.deps.provider.name, event.providerMessageId) as Row | undefined;
    if (!row) {
      // A status can race the send response that tells us the carrier's id. Failing the delivery rolls back
      // its inbox entry, so the carrier redelivers it once we know the id.
      const awaiting = this.store
        .sql(`SELECT 1 FROM messages WHERE status = 'queued' AND provider_message_id IS NULL AND updated_at > ? LIMIT 1`)
        .get(new Date(Date.now() - 60_000).toISOString());
      if (awaiting) throw new Error(`status for unknown message ${event.providerMessageId} while a send is unconfirmed; asking the carrier to redeliver`);
      return;
    }
    const to: SmsStatus = event.type === 'sms.sent' ? 'sent' : event.type === 'sms.delivered' ? 'delivered' : 'failed';
    if (!smsMachine.canMove(row.status, to)) return;
    if (event.type === 'sms.failed') {
      this.move(row, 'failed', { error_code: event.errorCode ?? null, error_message: event.errorMessage ?? 'The carrier could not deliver the message.', ended_at: event.at });
    } else this.move(row, to, to === 'sent' ? { sent_at: event.at } : { ended_at: event.at });
  }

  /**
   * After a restart: a message handed to the carrier whose id we never learned may or may not have gone out.
   * It ends failed rather than being sent again.
   */
  recoverAfterRestart(): number {
    return this.store.tx(() => {
      const rows = this.store.sql(`SELECT ${COLUMNS} FROM messages WHERE status = 'queued' AND provider_message_id IS NULL`).all() as Row[];
      for (const row of rows) {
        this.move(row, 'failed', { error_code: 'interrupted', error_message: 'Switchboard stopped while handing this message to the carrier; it was not sent again, so it may or may not have arrived.', ended_at: nowIso() });
      }
      return rows.length;
    });
  }

  /** Its mission paused: the mission's unsent messages leave the queue until it resumes. */
  holdForMission(missionId: string): void {
    const rows = this.store.sql(`SELECT id FROM messages WHERE mission_id = ? AND status = 'scheduled'`).all(missionId) as { id: string }[];
    for (const { id } of rows) this.deps.scheduler.cancel(id);
  }

  /** Its mission resumed: the messages it held are queued again at their time. */
  releaseForMission(missionId: string): void {
    const rows = this.store
      .sql(
        `SELECT id, scheduled_at FROM messages WHERE mission_id = ? AND status = 'scheduled'
           AND id NOT IN (SELECT ref_id FROM scheduled_work WHERE state = 'pending' AND kind = 'sms')`,
      )
      .all(missionId) as { id: string; scheduled_at: string }[];
    for (const { id, scheduled_at } of rows) this.deps.scheduler.enqueue('sms', id, Math.max(this.deps.scheduler.now(), Date.parse(scheduled_at)));
  }

  /** Cancels a mission's unsent messages, inside the transaction that ended the mission. */
  endForMission(missionId: string): void {
    const rows = this.store.sql(`SELECT ${COLUMNS} FROM messages WHERE mission_id = ? AND status = 'scheduled'`).all(missionId) as Row[];
    for (const row of rows) {
      this.deps.scheduler.cancel(row.message_id);
      this.move(row, 'canceled', { error_code: 'mission_ended', error_message: 'Canceled because its mission ended.', ended_at: nowIso() });
    }
  }

  private receive(event: Extract<CarrierEvent, { type: 'sms.inbound' }>): void {
    const { provider, doNotContact } = this.deps;
    if (this.store.sql('SELECT 1 FROM messages WHERE provider = ? AND provider_message_id = ?').get(provider.name, event.providerMessageId)) return;
    const id = newId('sms');
    this.store
      .sql(
        `INSERT INTO messages (id, direction, to_number, from_number, body, status, provider, provider_message_id, scheduled_at, sent_at, created_at, updated_at)
         VALUES (?, 'inbound', ?, ?, ?, 'received', ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, event.to, event.from, event.body, provider.name, event.providerMessageId, event.at, event.at, event.at, event.at);
    // Short codes and alphanumeric senders cannot be called or texted back, so only phone numbers opt out.
    const keyword = isE164(event.from) ? optOutKeyword(event.body) : null;
    if (keyword === 'stop') doNotContact.add(event.from, `Replied "${event.body.trim()}" by SMS`, 'sms_stop');
    if (keyword === 'start') doNotContact.remove(event.from, 'sms_stop');
    this.announce(id, null);
  }

  /** The one place a message's status changes. */
  private move(row: Row, to: SmsStatus, extra: Partial<Pick<Row, 'error_code' | 'error_message' | 'sent_at' | 'ended_at'>>): void {
    smsMachine.assertMove(row.status, to, `message ${row.message_id}`);
    const cols = Object.keys(extra) as (keyof typeof extra)[];
    const sets = ['status = ?', 'updated_at = ?', ...cols.map((c) => `${c} = coalesce(?, ${c})`)].join(', ');
    this.store.sql(`UPDATE messages SET ${sets} WHERE id = ?`).run(to, nowIso(), ...cols.map((c) => extra[c] ?? null), row.message_id);
    row.status = to;
    this.announce(row.message_id, row.mission_id);
    if (row.mission_id && row.step_id) {
      if (smsMachine.isTerminal(to)) this.deps.linkedWork.settled(row.mission_id, row.step_id);
      else if (to === 'sent') this.deps.linkedWork.handedOver(row.mission_id, row.step_id);
    }
  }

  /** The outbound messages linked to a mission step: final once delivered, failed or canceled; a success when delivered. */
  linkedItems = (missionId: string, stepId: string): { terminal: boolean; succeeded: boolean }[] => {
    const rows = this.store
      .sql(`SELECT status FROM messages WHERE mission_id = ? AND step_id = ? AND direction = 'outbound'`)
      .all(missionId, stepId) as { status: SmsStatus }[];
    return rows.map(({ status }) => ({ terminal: (SMS_OUTBOUND_FINAL as readonly string[]).includes(status), succeeded: status === 'delivered' }));
  };

  private row(messageId: string): Row {
    const row = this.store.sql(`SELECT ${COLUMNS} FROM messages WHERE id = ?`).get(messageId) as Row | undefined;
    if (!row) throw new NotFoundError(`No message has id ${JSON.stringify(messageId)}.`);
    return row;
  }

  private announce(messageId: string, missionId: string | null): void {
    this.store.announce({ kind: 'message', id: messageId });
    if (missionId) this.store.announce({ kind: 'mission', id: missionId });
  }
}

function toMessage({ error_code, error_message, deferred_until, deferred_code, deferred_reason, ...rest }: Row): Message {
  return { ...rest, error: error_message ? { code: error_code, message: error_message } : null, deferred: deferredOf({ deferred_until, deferred_code, deferred_reason }) };
}

/** Failures decided here before the carrier saw the message: a refusal, not a carrier error. */
const REFUSED_HERE = new Set(['do_not_contact', 'no_time_zone', 'calling_hours']);
