import type { KeyObject } from 'node:crypto';
import type { Logger } from '../../log.js';
import type { WebhookRoute } from '../provider.js';
import { parseTelnyxEvent, type TelnyxEvent } from './events.js';
import { verifyTelnyxSignature } from './signature.js';

export const TELNYX_WEBHOOK_PATH = '/webhooks/telnyx';

/**
 * `POST /webhooks/telnyx`: authenticates the delivery (Ed25519 over `timestamp|rawBody`, within 300 s) before
 * reading it, then hands the event over. `verifyKey` null means verification was switched off by configuration.
 */
export function telnyxWebhookRoute(opts: { log: Logger; verifyKey: KeyObject | null; onEvent(event: TelnyxEvent): void }): WebhookRoute {
  return {
    method: 'POST',
    path: TELNYX_WEBHOOK_PATH,
    async handle(req) {
      if (opts.verifyKey) {
        const check = await verifyTelnyxSignature(opts.verifyKey, req);
        if (!check.ok) {
          opts.log.warn({ reason: check.reason }, 'telnyx webhook refused');
          return json(401, { error: 'invalid signature' });
        }
      }
      const event = parseTelnyxEvent(req.rawBody);
      if (!event) return json(400, { error: 'not a Telnyx event envelope' });
      opts.onEvent(event);
      return json(200, { ok: true });
    },
  };
}

function json(status: number, body: unknown) {
  return { status, contentType: 'application/json', body: JSON.stringify(body) };
}
