import type { Calls } from './calls/calls.js';
import type { Config } from './config.js';
import { UserError } from './errors.js';
import type { DoNotContact } from './guardrails/do-not-contact.js';
import type { Logger } from './log.js';
import type { Messages } from './messages/messages.js';
import type { Store } from './store/store.js';
import { recordDelivery } from './store/webhook-inbox.js';
import { nowIso } from './time.js';
import type { CallRef, CarrierEvent, InboundDecision, ProviderContext } from './telephony/provider.js';
import { INBOUND_DISCLOSURE } from './voice/disclosure.js';
import type { VoiceEngine } from './voice/engine.js';
import { isLive, type CallStatus } from './calls/lifecycle.js';
import { LiveVoice } from './voice/live-voice.js';
import type { AttemptRef } from './voice/media-port.js';
import type { VoiceCallSink } from './voice/voice-call.js';
import type { ConversationSink, Conversations } from './conversation/conversations.js';

/**
 * What carrier adapters may ask of Switchboard, wired from the domain. Deliveries are recorded in the webhook
 * inbox and applied in one transaction, so a duplicate has no effect and a crash leaves no half-applied event.
 * The domain is handed over once built (`attach`): the carrier adapter is created first, since the domain needs it.
 */
type Domain = { providerName: string; calls: Calls; messages: Messages; conversations: Conversations };

export function createCarrierContext(deps: { config: Config; log: Logger; store: Store; doNotContact: DoNotContact; voice: VoiceEngine }): {
  ctx: ProviderContext;
  attach(domain: Domain): void;
  /** Ends every live voice session (the engine is stopping). */
  stop(): void;
} {
  const { config, log, store } = deps;
  let domain: Domain | undefined;
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
  const deliverNow = (events: CarrierEvent[]) => void ctx.deliver(null, events);
  const liveVoice =
    config.SWITCHBOARD_VOICE === 'openai' && config.OPENAI_API_KEY
      ? new LiveVoice({
          settings: { url: config.SWITCHBOARD_OPENAI_REALTIME_URL, apiKey: config.OPENAI_API_KEY, model: config.SWITCHBOARD_OPENAI_MODEL, voice: config.SWITCHBOARD_OPENAI_VOICE },
          log: log.child({ component: 'live-voice' }),
          plan: (ref) => wired().calls.agentPlan(ref)?.plan,
          isLive: (ref) => isLive((wired().calls.liveInfo(ref)?.status ?? 'completed') as CallStatus),
          sink: (ref) => liveVoiceSink(ref, deliverNow),
        })
      : null;

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
      // The owners are on the allowlist without being listed twice.
      const allowed = config.SWITCHBOARD_INBOUND_ALLOWLIST.includes(from) || config.SWITCHBOARD_OWNER_NUMBERS.includes(from);
      if (policy === 'allowlist' && !allowed) return { accept: false, reason: 'caller not on the allowlist' };
      log.info({ to }, 'inbound call accepted');
      return { accept: true, greeting };
    },
    lookupCall: (ref) => wired().calls.liveInfo(ref),
    voice: liveVoice,
    async converse(ref, line) {
      const target = wired().calls.agentPlan(ref);
      if (!target) return line.hangup();
      if (target.plan.mode === 'conversation') {
        const from = target.inboundFrom;
        const owner = from && config.SWITCHBOARD_OWNER_NUMBERS.includes(from) ? from : undefined;
        const call = { callId: target.callId, message: target.plan.message, inbound: target.inboundFrom !== undefined, ...(owner && { owner }) };
        return wired().conversations.run(call, line, conversationSink(ref, target.callId, deliverNow, store));
      }
      try {
        const report = await deps.voice.run(target.plan, line);
        wired().calls.recordReport(target.callId, report);
      } catch (err) {
        log.error({ err, callId: target.callId }, 'voice agent failed; hanging up');
        await line.hangup();
      }
    },
  };
  return { ctx, attach: (d) => (domain = d), stop: () => liveVoice?.stop() };
}

/** What a conversation records, as events of its call, and how it tells waiters an inbound call rings through. */
function conversationSink(ref: CallRef, callId: string, deliver: (events: CarrierEvent[]) => void, store: Store): ConversationSink {
  return {
    turn: (speaker, text) => deliver([{ ...ref, type: 'call.transcript', speaker, text, at: nowIso() }]),
    report: (outcome, summary) => deliver([{ ...ref, type: 'call.report', report: { outcome, summary, fields: {} }, at: nowIso() }]),
    ringing: () => store.changes.publish({ kind: 'inbound', id: callId }),
  };
}

/** What a live voice session records, as events of its attempt through the same delivery path as the carrier's. */
function liveVoiceSink(ref: AttemptRef, deliver: (events: CarrierEvent[]) => void): Omit<VoiceCallSink, 'closed'> {
  return {
    transcript: (speaker, text, when) => deliver([{ ...ref, type: 'call.transcript', speaker, text, at: when }]),
    report: (report) => deliver([{ ...ref, type: 'call.report', report, at: nowIso() }]),
    pressed: (digits) => deliver([{ ...ref, type: 'call.dtmf', digits, at: nowIso() }]),
    latency: (t) => deliver([{ ...ref, type: 'call.turn_latency', turn: t.turn, modelMs: t.modelMs, firstFrameMs: t.firstFrameMs, at: t.at }]),
    failed: (code, message) => deliver([{ ...ref, type: 'call.ended', status: 'failed', cause: 'voice_agent_failed', errorCode: code, errorMessage: message, at: nowIso() }]),
  };
}
