import type { Calls } from '../calls/calls.js';
import type { Config } from '../config.js';
import type { DoNotContact } from '../guardrails/do-not-contact.js';
import type { Logger } from '../log.js';
import type { Messages } from '../messages/messages.js';
import type { Store } from '../store/store.js';
import { nowIso } from '../time.js';
import type { VoiceEngine } from '../voice/engine.js';
import type { CarrierEvent, InboundDecision, ProviderContext } from './provider.js';

/** Carriers stop redelivering within days; older inbox entries only take space. */
const INBOX_KEEP_DAYS = 14;

export function pruneWebhookInbox(store: Store): number {
  const cutoff = new Date(Date.now() - INBOX_KEEP_DAYS * 86_400_000).toISOString();
  return store.tx(() => store.sql('DELETE FROM webhook_inbox WHERE received_at < ?').run(cutoff).changes);
}

/**
 * What carrier adapters may ask of Switchboard. Deliveries are recorded in the webhook inbox and
 * applied in one transaction, so a duplicate has no effect and a crash leaves no half-applied event.
 */
export function createProviderContext(deps: {
  config: Config;
  log: Logger;
  store: Store;
  providerName: () => string;
  calls: () => Calls;
  messages: () => Messages;
  doNotContact: DoNotContact;
  voice: VoiceEngine;
}): ProviderContext {
  const { config, log, store } = deps;

  function apply(event: CarrierEvent): void {
    if (event.type === 'call.inbound') deps.calls().recordInbound(event, deps.providerName());
    else if ('providerCallId' in event) deps.calls().apply(event);
    else deps.messages().apply(event);
  }

  return {
    config,
    log,
    deliver(delivery, events) {
      return store.tx(() => {
        if (delivery) {
          const fresh = store
            .sql('INSERT INTO webhook_inbox (provider, event_key, kind, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
            .run(deps.providerName(), delivery.eventKey, delivery.kind, nowIso()).changes === 1;
          if (!fresh) return 'duplicate';
        }
        for (const event of events) apply(event);
        return 'applied';
      });
    },
    decideInbound(from, to): InboundDecision {
      const policy = config.SWITCHBOARD_INBOUND_POLICY;
      if (policy === 'disabled') return { accept: false, reason: 'inbound calls are disabled (SWITCHBOARD_INBOUND_POLICY=disabled)' };
      if (from === null) return policy === 'open' ? { accept: true, greeting: config.SWITCHBOARD_INBOUND_GREETING } : { accept: false, reason: 'caller id withheld' };
      if (deps.doNotContact.has(from)) return { accept: false, reason: 'caller is on the do-not-contact list' };
      if (policy === 'allowlist' && !config.SWITCHBOARD_INBOUND_ALLOWLIST.includes(from)) return { accept: false, reason: 'caller not on the allowlist' };
      log.info({ to }, 'inbound call accepted');
      return { accept: true, greeting: config.SWITCHBOARD_INBOUND_GREETING };
    },
    lookupCall: (ref) => deps.calls().liveInfo(ref),
    async converse(ref, line) {
      const target = deps.calls().agentPlan(ref);
      if (!target) return line.hangup();
      try {
        const report = await deps.voice.run(target.plan, line);
        deps.calls().recordReport(target.callId, report);
      } catch (err) {
        log.error({ err, callId: target.callId }, 'voice agent failed; hanging up');
        await line.hangup();
      }
    },
  };
}
