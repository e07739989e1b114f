import type { CallEnd, CallRef, CarrierEvent } from '../provider.js';
import { parseAnsweredBy } from './answered-by.js';

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
  const answeredBy = parseAnsweredBy(p.AnsweredBy);
  const status = ended === 'completed' && answeredBy?.startsWith('machine_') ? 'voicemail' : ended;
  return [
    {
      ...ref,
      type: 'call.ended',
      status,
      ...(p.SipResponseCode ? { cause: `sip_${p.SipResponseCode}` } : {}),
      ...(p.ErrorCode ? { errorCode: p.ErrorCode } : {}),
      ...(p.ErrorMessage ? { errorMessage: p.ErrorMessage } : {}),
      at,
    },
  ];
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
