/**
 * Our Twilio webhook paths. The first three are pasted into the Twilio console (and outbound calls and SMS name
 * them themselves); `gather` is only ever named by the TwiML of a conversation call.
 */
export const TWILIO_WEBHOOK_PATHS = {
  voice: '/webhooks/twilio/voice',
  status: '/webhooks/twilio/status',
  sms: '/webhooks/twilio/sms',
  gather: '/webhooks/twilio/gather',
} as const;

export type TwilioWebhookKind = keyof typeof TWILIO_WEBHOOK_PATHS;

type Attempt = { callId: string; attempt: number };

/** Public URL of one webhook; outbound calls carry our ids in the query so every callback names its attempt. */
export function twilioWebhookUrl(publicUrl: string, kind: TwilioWebhookKind, attempt?: Attempt): string {
  const base = `${publicUrl}${TWILIO_WEBHOOK_PATHS[kind]}`;
  if (!attempt) return base;
  return `${base}?${new URLSearchParams({ call_id: attempt.callId, attempt: String(attempt.attempt) })}`;
}

/** Where a conversation call reports that TwiML document `step` is done (a Say played, or a Gather ended). */
export function twilioGatherUrl(publicUrl: string, attempt: Attempt | undefined, step: number): string {
  const ids: Record<string, string> = attempt ? { call_id: attempt.callId, attempt: String(attempt.attempt) } : {};
  return `${publicUrl}${TWILIO_WEBHOOK_PATHS.gather}?${new URLSearchParams({ ...ids, step: String(step) })}`;
}
