import { nowIso } from '../time.js';
import type { Store } from './store.js';

/** Carriers stop redelivering within days; older inbox entries only take space. */
const INBOX_KEEP_DAYS = 14;

/**
 * Carrier deliveries already seen, keyed by the carrier's own event identity. Call inside the transaction
 * that applies the delivery: false means a duplicate, and nothing else should be written.
 */
export function recordDelivery(store: Store, provider: string, delivery: { eventKey: string; kind: string }): boolean {
  return store
    .sql('INSERT INTO webhook_inbox (provider, event_key, kind, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
    .run(provider, delivery.eventKey, delivery.kind, nowIso()).changes === 1;
}

export function pruneWebhookInbox(store: Store): number {
  const cutoff = new Date(Date.now() - INBOX_KEEP_DAYS * 86_400_000).toISOString();
  return store.tx(() => store.sql('DELETE FROM webhook_inbox WHERE received_at < ?').run(cutoff).changes);
}
