import { asksNotToBeCalled, OPT_OUT_OUTCOME } from '../guardrails/opt-out.js';
import { newId } from '../ids.js';
import type { AgentReport } from '../insights/insights.js';
import { insightFields, type InsightSchema } from '../insights/schema.js';
import { fromJsonText } from '../json.js';
import type { CallEvent, CallRef, CarrierEvent, LiveCallInfo } from '../telephony/provider.js';
import { isE164 } from '../phone.js';
import { nowIso } from '../time.js';
import { withDisclosure } from '../voice/disclosure.js';
import type { AgentPlan } from '../voice/engine.js';
import { endAttempt } from './attempt-end.js';
import type { CallsContext } from './context.js';
import { attemptMachine, callMachine } from './lifecycle.js';

/** Applies one normalised carrier event about a call, inside the delivery's transaction; late or repeated events never move it backwards. */
export function applyCallEvent(c: CallsContext, event: CallEvent): void {
  const attempt = c.ledger.findAttempt(event);
  if (!attempt) {
    c.log.debug({ event: event.type, providerCallId: event.providerCallId }, 'event for an unknown call ignored');
    return;
  }
  const { call_id: callId } = attempt;
  switch (event.type) {
    case 'call.ringing':
    case 'call.answered': {
      const to = event.type === 'call.ringing' ? 'ringing' : 'in_progress';
      const answeredAt = to === 'in_progress' ? event.at : null;
      if (!attemptMachine.canMove(attempt.status, to)) {
        if (answeredAt && (attempt.status === 'completed' || attempt.status === 'voicemail')) c.ledger.backfillAnswer(attempt, answeredAt);
        return;
      }
      c.ledger.moveAttempt(attempt, to, answeredAt ? { answered_at: answeredAt } : {});
      const row = c.records.row(callId);
      if (c.ledger.isCurrent(attempt) && callMachine.canMove(row.status, to)) c.ledger.moveCall(row, to, answeredAt ? { answered_at: answeredAt } : {});
      return;
    }
    case 'call.answered_by':
      c.store.sql('UPDATE call_attempts SET answered_by = ? WHERE call_id = ? AND attempt = ?').run(event.answeredBy, callId, attempt.attempt);
      c.store.sql('UPDATE calls SET answered_by = ?, updated_at = ? WHERE id = ?').run(event.answeredBy, nowIso(), callId);
      return c.ledger.announce(callId);
    case 'call.dtmf':
      return c.ledger.addTurn(callId, attempt.attempt, 'agent', `(pressed ${event.digits})`, event.at);
    case 'call.transcript':
      c.ledger.addTurn(callId, attempt.attempt, event.speaker, event.text, event.at);
      if (event.speaker === 'callee' && asksNotToBeCalled(event.text)) optOutHeard(c, callId, `Said on call ${callId}: "${event.text.trim().slice(0, 200)}"`);
      return;
    case 'call.turn_latency':
      c.store
        .sql('INSERT OR IGNORE INTO call_turn_latency (call_id, attempt, turn, model_ms, first_frame_ms, at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(callId, attempt.attempt, event.turn, event.modelMs, event.firstFrameMs, event.at);
      return c.ledger.announce(callId);
    case 'call.report':
      return recordReport(c, callId, event.report);
    case 'call.ended':
      return endAttempt(c, { callId, attempt: attempt.attempt }, event.status, { cause: event.cause, code: event.errorCode, message: event.errorMessage, at: event.at });
  }
}

/** Records an inbound call the carrier adapter already accepted under the inbound policy. */
export function recordInbound(c: CallsContext, event: Extract<CarrierEvent, { type: 'call.inbound' }>): void {
  if (c.records.attemptByProviderId(c.provider.name, event.providerCallId)) return;
  const id = newId('call');
  const agent = inboundAgent(c);
  c.store
    .sql(
      `INSERT INTO calls (id, direction, to_number, from_number, mode, message, instructions, assistant_id, insight_schema, amd, status, scheduled_at, created_at, updated_at)
       VALUES (?, 'inbound', ?, ?, ?, ?, ?, ?, ?, 'off', 'ringing', ?, ?, ?)`,
    )
    .run(id, event.to, event.from, agent ? 'agent' : 'conversation', agent?.message ?? null, agent?.instructions ?? null, agent?.assistantId ?? null, agent?.schema ?? null, event.at, event.at, event.at);
  c.store
    .sql(`INSERT INTO call_attempts (call_id, attempt, provider, provider_call_id, status, started_at) VALUES (?, 1, ?, ?, 'ringing', ?)`)
    .run(id, c.provider.name, event.providerCallId, event.at);
  c.deadlines.attemptStarted(Date.parse(event.at));
  c.insights.open(id);
  c.ledger.announce(id);
}

/** With the `agent` inbound handler, what the live agent answering an inbound call is to do: the inbound assistant's script. */
function inboundAgent(c: CallsContext): { message: string; instructions: string; assistantId: string | null; schema: string | null } | undefined {
  const { handler, assistantId, greeting } = c.opts.inbound;
  if (handler !== 'agent') return undefined;
  const assistant = assistantId ? c.assistants.get(assistantId) : undefined;
  return {
    message: assistant?.greeting ?? greeting,
    instructions: assistant?.instructions ?? 'Someone called the number of the person you assist. Find out who they are and why they called, and offer to pass on a message.',
    assistantId: assistant?.assistant_id ?? null,
    schema: assistant?.insight_schema ? JSON.stringify(assistant.insight_schema) : null,
  };
}

/** What the voice agent should do on this attempt. */
export function agentPlan(c: CallsContext, ref: CallRef): { callId: string; plan: AgentPlan; inboundFrom?: string | null } | undefined {
  const attempt = c.ledger.findAttempt(ref);
  if (!attempt) return undefined;
  const row = c.records.row(attempt.call_id);
  return {
    callId: row.id,
    ...(row.direction === 'inbound' && { inboundFrom: row.from_number }),
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
export function liveInfo(c: CallsContext, ref: CallRef): LiveCallInfo | undefined {
  const attempt = c.ledger.findAttempt(ref);
  if (!attempt) return undefined;
  const row = c.records.row(attempt.call_id);
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

export function recordReport(c: CallsContext, callId: string, report: AgentReport): void {
  c.store.tx(() => {
    c.insights.record(callId, report);
    c.ledger.announce(callId);
    if (report.outcome === OPT_OUT_OUTCOME) optOutHeard(c, callId, `The voice agent reported opt_out on call ${callId}: ${report.summary.slice(0, 200)}`);
  });
}

/**
 * The person on the call asked not to be called again: their number goes on the do-not-contact list, which hangs up
 * this call and their other live ones (the `contact.blocked` handlers) and refuses all further calls and SMS. An
 * owner is never blocked this way (they may say such words about someone else); `add_do_not_contact` still can.
 */
function optOutHeard(c: CallsContext, callId: string, reason: string): void {
  const row = c.records.row(callId);
  const number = row.direction === 'outbound' ? row.to_number : row.from_number;
  if (!number || !isE164(number) || c.guard.isOwner(number) || c.doNotContact.has(number)) return;
  c.log.info({ callId }, 'opt-out heard on a call; the number goes on the do-not-contact list');
  c.doNotContact.add(number, reason, 'call_opt_out');
}
