import type { Calls } from './calls/calls.js';
import type { Config } from './config.js';
import { UserError } from './errors.js';
import type { DoNotContact } from './guardrails/do-not-contact.js';
import type { Logger } from './log.js';
import type { Messages } from './messages/messages.js';
import type { Store } from './store/store.js';
import { recordDelivery } from './store/webhook-inbox.js';
import type { CarrierEvent, InboundDecision, ProviderContext } from './telephony/provider.js';
import { INBOUND_DISCLOSURE } from './voice/disclosure.js';
import type { VoiceEngine } from './voice/engine.js';

/**
 * What carrier adapters may ask of Switchboard, wired from the domain. Deliveries are recorded in the webhook
 * inbox and applied in one transaction, so a duplicate has no effect and a crash leaves no half-applied event.
 * The domain is handed over once built (`attach`): the carrier adapter is created first, since the domain needs it.
 */
export function createCarrierContext(deps: { config: Config; log: Logger; store: Store; doNotContact: DoNotContact; voice: VoiceEngine }): {
  ctx: ProviderContext;
  attach(domain: { providerName: string; calls: Calls; messages: Messages }): void;
} {
  const { config, log, store } = deps;
  let domain: { providerName: string; calls: Calls; messages: Messages } | undefined;
  const wired = () => {
    if (!domain) throw new Error('a carrier event arrived before Switchboard finished starting');
    return domain;
  };

  function apply(event: CarrierEvent): void {
    const { calls, messages } = wired();
    if (event.type === 'call.inbound') calls.recordInbound(event);
    else if ('providerCallId' in event) calls.apply(event);
    else messages.apply(event);
  }

  // An event the domain refuses (bad data from the carrier) is logged and skipped: the delivery itself is
  // valid and is kept, so the carrier is not asked to retry what can never apply.
  function applyAlone(event: CarrierEvent): void {
    try {
      store.savepoint(() => apply(event));
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      log.warn({ event: event.type, reason: err.message }, 'carrier event refused by the domain; skipped');
    }
  }

  const greeting = `${INBOUND_DISCLOSURE} ${config.SWITCHBOARD_INBOUND_GREETING}`.trim();

  const ctx: ProviderContext = {
    config,
    log,
    inboundGreeting: greeting,
    deliver(delivery, events) {
      return store.tx(() => {
        if (delivery && !recordDelivery(store, wired().providerName, delivery)) return 'duplicate';
        for (const event of events) applyAlone(event);
        return 'applied';
      });
    },
    decideInbound(from, to): InboundDecision {
      const policy = config.SWITCHBOARD_INBOUND_POLICY;
      if (policy === 'disabled') return { accept: false, reason: 'inbound calls are disabled (SWITCHBOARD_INBOUND_POLICY=disabled)' };
      if (from === null) return policy === 'open' ? { accept: true, greeting } : { accept: false, reason: 'caller id withheld' };
      if (deps.doNotContact.has(from)) return { accept: false, reason: 'caller is on the do-not-contact list' };
      if (policy === 'allowlist' && !config.SWITCHBOARD_INBOUND_ALLOWLIST.includes(from)) return { accept: false, reason: 'caller not on the allowlist' };
      log.info({ to }, 'inbound call accepted');
      return { accept: true, greeting };
    },
    lookupCall: (ref) => wired().calls.liveInfo(ref),
    async converse(ref, line) {
      const target = wired().calls.agentPlan(ref);
      if (!target) return line.hangup();
      try {
        const report = await deps.voice.run(target.plan, line);
        wired().calls.recordReport(target.callId, report);
      } catch (err) {
        log.error({ err, callId: target.callId }, 'voice agent failed; hanging up');
        await line.hangup();
      }
    },
  };
  return { ctx, attach: (d) => (domain = d) };
}
