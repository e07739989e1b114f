import type { CallEnd, CallEvent, CallRef, CarrierEvent } from '../provider.js';

/** A Twilio form post, one value per field. */
export type TwilioParams = Readonly<Record<string, string | undefined>>;

const ENDED: Readonly<Record<string, CallEnd>> = {
  completed: 'completed',
  busy: 'busy',
  'no-answer': 'no_answer',
  failed: 'failed',
  canceled: 'canceled',
};

/** A call status callback, mapped as reported: the domain refuses moves backwards, so order is its concern. */
export function callStatusEvents(p: TwilioParams, ref: CallRef): CarrierEvent[] {
  const at = eventTime(p);
  if (p.CallStatus === 'ringing') return [{ ...ref, type: 'call.ringing', at }];
  if (p.CallStatus === 'in-progress') return [{ ...ref, type: 'call.answered', at }];
  const ended = p.CallStatus === undefined ? undefined : ENDED[p.CallStatus];
  if (!ended) return []; // queued, initiated: nothing the domain tracks
  return [
    {
      ...ref,
      type: 'call.ended',
      status: endStatus(ended, p.AnsweredBy),
      ...(p.SipResponseCode ? { cause: `sip_${p.SipResponseCode}` } : {}),
      ...(p.ErrorCode ? { errorCode: p.ErrorCode } : {}),
      ...(p.ErrorMessage ? { errorMessage: p.ErrorMessage } : {}),
      at,
    },
  ];
}

/** What a fetched Call resource says; the SDK leaves a date it cannot parse (or an empty one) as it came. */
export type TwilioCall = { status: string; endTime: Date | string | null; duration: string | null; answeredBy: string | null };

/**
 * A Call resource fetched over REST, as the events its status callbacks would have brought. A finished call that
 * talked is dated back from its end by its length to give the answer.
 */
export function callResourceEvents(call: TwilioCall, ref: CallRef): CallEvent[] {
  const now = new Date().toISOString();
  if (call.status === 'ringing') return [{ ...ref, type: 'call.ringing', at: now }];
  if (call.status === 'in-progress') return [{ ...ref, type: 'call.answered', at: now }];
  const ended = ENDED[call.status];
  if (!ended) return []; // queued: not dialed yet
  const endedAt = call.endTime instanceof Date && !Number.isNaN(call.endTime.getTime()) ? call.endTime.getTime() : Date.now();
  const talked = Number(call.duration ?? 0);
  const answered: CallEvent[] = ended === 'completed' && talked > 0 ? [{ ...ref, type: 'call.answered', at: new Date(endedAt - talked * 1000).toISOString() }] : [];
  return [...answered, { ...ref, type: 'call.ended', status: endStatus(ended, call.answeredBy ?? undefined), at: new Date(endedAt).toISOString() }];
}

/** A completed call a machine answered was a voicemail (callbacks say `machine_start` and the like, the Call resource `machine`). */
function endStatus(ended: CallEnd, answeredBy: string | undefined): CallEnd {
  return ended === 'completed' && answeredBy?.startsWith('machine') ? 'voicemail' : ended;
}

/** An outbound SMS status callback; queued, accepted and sending are not news. */
export function smsStatusEvents(p: TwilioParams): CarrierEvent[] {
  const providerMessageId = p.MessageSid ?? '';
  const at = eventTime(p);
  switch (p.MessageStatus) {
    case 'sent':
      return [{ type: 'sms.sent', providerMessageId, at }];
    case 'delivered':
      return [{ type: 'sms.delivered', providerMessageId, at }];
    case 'undelivered':
    case 'failed':
      return [
        {
          type: 'sms.failed',
          providerMessageId,
          ...(p.ErrorCode ? { errorCode: p.ErrorCode } : {}),
          ...(p.ErrorMessage ? { errorMessage: p.ErrorMessage } : { errorMessage: `Twilio reported the message ${p.MessageStatus}.` }),
          at,
        },
      ];
    default:
      return [];
  }
}

/** Twilio stamps call progress callbacks (RFC 2822); everything else happened just now. */
export function eventTime(p: TwilioParams): string {
  const stamped = p.Timestamp ? Date.parse(p.Timestamp) : Number.NaN;
  return new Date(Number.isNaN(stamped) ? Date.now() : stamped).toISOString();
}
