import { z } from 'zod';
import type { AnsweredBy, CallEnd, CarrierEvent } from '../provider.js';

/** One Telnyx webhook delivery: `{data:{record_type:'event', id, event_type, occurred_at, payload}}`. */
export type TelnyxEvent = { id: string; type: string; at: string; payload: unknown };

const EnvelopeSchema = z.object({
  data: z.object({
    id: z.string().min(1),
    event_type: z.string().min(1),
    occurred_at: z.string().optional(),
    payload: z.unknown(),
  }),
});

/** Undefined when the body is not a Telnyx event envelope. */
export function parseTelnyxEvent(rawBody: Buffer): TelnyxEvent | undefined {
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = EnvelopeSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const { id, event_type, occurred_at, payload } = parsed.data.data;
  return { id, type: event_type, at: isoOrNow(occurred_at), payload };
}

function isoOrNow(value: string | undefined): string {
  return value && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : new Date().toISOString();
}

// SIP causes arrive as strings ("486") or numbers depending on the event; we keep them as text.
const code = z.union([z.string(), z.number()]).transform(String);

export const CallPayloadSchema = z.object({
  call_control_id: z.string().min(1),
  client_state: z.string().nullish(),
  direction: z.string().nullish(),
  from: z.string().nullish(),
  to: z.string().nullish(),
  hangup_cause: z.string().nullish(),
  sip_hangup_cause: code.nullish(),
  result: z.string().nullish(),
  // call.transcription (its `confidence` is not used); `transcription_track` comes with the Telnyx engine only.
  transcription_data: z.object({ transcript: z.string().nullish(), is_final: z.boolean().nullish(), transcription_track: z.string().nullish() }).nullish(),
});
export type CallPayload = z.output<typeof CallPayloadSchema>;

const MessagePayloadSchema = z.object({
  id: z.string().min(1),
  text: z.string().nullish(),
  from: z.object({ phone_number: z.string() }).nullish(),
  to: z.array(z.object({ phone_number: z.string(), status: z.string().nullish() })).nullish(),
  errors: z.array(z.object({ code: code.nullish(), title: z.string().nullish(), detail: z.string().nullish() })).nullish(),
});

const HUMAN = new Set(['human', 'human_residence', 'human_business']);

/** `result` of call.machine.(premium.)detection.ended. `not_sure` and `silence` stay unknown. */
export function answeredByFromAmd(result: string | null | undefined): AnsweredBy {
  if (result && HUMAN.has(result)) return 'human';
  if (result === 'machine') return 'machine';
  if (result === 'fax_detected') return 'fax';
  return 'unknown';
}

const ENDED_AFTER_TALK = new Set(['normal_clearing', 'normal_unspecified', 'user_hangup', 'time_limit']);
const NOT_PICKED_UP = new Set(['timeout', 'no_answer', 'no_user_response', 'recovery_on_timer_expire', 'originator_cancel']);

/**
 * A call.hangup's `hangup_cause` as our end status. Once answered every cause is a finished call (a voicemail when a
 * machine took it); before that, busy and ring-outs (including our own cancel) are told apart and the rest is a failure.
 */
export function endStatus(cause: string, answered: boolean, machine: boolean): CallEnd {
  if (answered || ENDED_AFTER_TALK.has(cause)) return machine ? 'voicemail' : 'completed';
  if (cause === 'user_busy') return 'busy';
  if (NOT_PICKED_UP.has(cause)) return 'no_answer';
  return 'failed';
}

const DELIVERY_FAILED = new Set(['sending_failed', 'delivery_failed', 'expired']);

/** Messaging events as CarrierEvents; undefined when the event is not a message event we track. */
export function messageEvents(event: TelnyxEvent): CarrierEvent[] | undefined {
  if (!event.type.startsWith('message.')) return undefined;
  const parsed = MessagePayloadSchema.safeParse(event.payload);
  if (!parsed.success) return undefined;
  const p = parsed.data;
  const at = event.at;
  switch (event.type) {
    case 'message.sent':
      return [{ type: 'sms.sent', providerMessageId: p.id, at }];
    case 'message.finalized': {
      const status = p.to?.[0]?.status ?? '';
      const error = p.errors?.[0];
      if (status === 'delivered') return [{ type: 'sms.delivered', providerMessageId: p.id, at }];
      if (DELIVERY_FAILED.has(status) || error) {
        const errorMessage = error?.detail ?? error?.title ?? undefined;
        return [{ type: 'sms.failed', providerMessageId: p.id, errorCode: error?.code ?? (status || undefined), ...(errorMessage && { errorMessage }), at }];
      }
      // delivery_unconfirmed: handed to the network, no receipt will come; "sent" is all we know.
      return [{ type: 'sms.sent', providerMessageId: p.id, at }];
    }
    case 'message.received': {
      const to = p.to?.[0]?.phone_number;
      if (!p.from || !to) return undefined;
      return [{ type: 'sms.inbound', providerMessageId: p.id, from: p.from.phone_number, to, body: p.text ?? '', at }];
    }
    default:
      return undefined;
  }
}
