import { z } from 'zod';

/**
 * What we ride along in Telnyx `client_state` (base64 JSON, echoed on every later webhook of the call):
 * our attempt's identity, so a webhook that races ahead of the dial response still finds its call, and
 * whether a machine answered, so the final hangup can say `voicemail` even after a restart, and whether the speech
 * we sent is the disclosure of an agent call, whose end starts the media stream instead of hanging up.
 */
export type CallState = { call_id: string; attempt: number; machine?: true; stream?: true };

const CallStateSchema = z.object({
  call_id: z.string().min(1),
  attempt: z.number().int().min(0),
  machine: z.literal(true).optional(),
  stream: z.literal(true).optional(),
});

export function encodeClientState(state: CallState): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64');
}

/** Undefined for absent or foreign client_state (a portal setting or another app on the same connection). */
export function decodeClientState(value: string | null | undefined): CallState | undefined {
  if (!value) return undefined;
  try {
    const parsed = CallStateSchema.safeParse(JSON.parse(Buffer.from(value, 'base64').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
