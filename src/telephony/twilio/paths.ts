/** The three URLs to paste into the Twilio console (and that outbound calls and SMS name themselves). */
export const TWILIO_WEBHOOK_PATHS = {
  voice: '/webhooks/twilio/voice',
  status: '/webhooks/twilio/status',
  sms: '/webhooks/twilio/sms',
} as const;

export type TwilioWebhookKind = keyof typeof TWILIO_WEBHOOK_PATHS;

/** Public URL of one webhook; outbound calls carry our ids in the query so every callback names its attempt. */
export function twilioWebhookUrl(publicUrl: string, kind: TwilioWebhookKind, attempt?: { callId: string; attempt: number }): string {
  const base = `${publicUrl}${TWILIO_WEBHOOK_PATHS[kind]}`;
  if (!attempt) return base;
  return `${base}?${new URLSearchParams({ call_id: attempt.callId, attempt: String(attempt.attempt) })}`;
}
