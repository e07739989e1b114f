import { pino } from 'pino';
import type { Config } from '../../src/config.js';
import type { Logger } from '../../src/log.js';
import { CALL_ENDS, type CallMode, type CallRef, type CarrierEvent, type InboundDecision, type LiveCallInfo, type PlaceCallRequest, type ProviderContext, type VoiceLine } from '../../src/telephony/provider.js';

/** A dial request as the domain makes one for an adapter: a notify call, first attempt, unless `over` says otherwise. */
export function dialRequest(callId: string, to: string, from: string, over: Partial<PlaceCallRequest> = {}): PlaceCallRequest {
  return {
    callId,
    attempt: 1,
    to,
    from,
    mode: 'notify',
    message: 'Your table for two is ready.',
    amd: 'off',
    ringTimeoutSeconds: 25,
    maxDurationSeconds: 300,
    idempotencyKey: `${callId}:1`,
    ...over,
  };
}

type CallEnded = Extract<CarrierEvent, { type: 'call.ended' }>;
const TERMINAL = new Set<string>(CALL_ENDS);

/**
 * What the domain is to a carrier adapter, in memory: a webhook inbox that dedupes, the calls it placed (their
 * status following the events, first final status wins), an inbound policy, and a log a test can read.
 */
export class FakeDomain implements ProviderContext {
  readonly inbox = new Set<string>();
  readonly applied: { kind: string | null; events: CarrierEvent[] }[] = [];
  readonly duplicates: string[] = [];
  readonly inboundAsked: { from: string | null; to: string }[] = [];
  readonly logs: { level: number; msg: string }[] = [];
  readonly log: Logger = pino({ level: 'debug' }, { write: (line: string) => void this.logs.push(JSON.parse(line)) });
  /** Refuses every caller unless a test says otherwise, like SWITCHBOARD_INBOUND_POLICY=disabled. */
  policy: (from: string | null) => InboundDecision = () => ({ accept: false, reason: 'inbound calls are disabled' });
  /** The mode inbound calls are recorded with: the inbound handler's (`client`: conversation, `agent`: agent). */
  inboundMode: CallMode = 'notify';
  /** What an inbound call hears when the adapter lost the greeting of its decision (a restart in between). */
  readonly inboundGreeting = 'You have reached an AI assistant; this is the fallback greeting.';
  private readonly calls = new Map<string, LiveCallInfo>();
  private readonly byProviderId = new Map<string, string>();

  constructor(readonly config: Config) {}

  deliver(delivery: { eventKey: string; kind: string } | null, events: CarrierEvent[]): 'applied' | 'duplicate' {
    if (delivery && this.inbox.has(delivery.eventKey)) {
      this.duplicates.push(delivery.eventKey);
      return 'duplicate';
    }
    if (delivery) this.inbox.add(delivery.eventKey);
    this.applied.push({ kind: delivery?.kind ?? null, events });
    events.forEach((e) => this.apply(e));
    return 'applied';
  }

  decideInbound(from: string | null, to: string): InboundDecision {
    this.inboundAsked.push({ from, to });
    return this.policy(from);
  }

  lookupCall(ref: CallRef): LiveCallInfo | undefined {
    const callId = ref.callId ?? this.byProviderId.get(ref.providerCallId);
    return callId === undefined ? undefined : this.calls.get(callId);
  }

  /** No live voice: these adapter tests run notify calls. */
  readonly voice = null;

  /** What runs a conversation call the adapter hands over (`converse`); notify calls never reach it. */
  conversation: ((ref: CallRef, line: VoiceLine) => Promise<void>) | null = null;

  converse(ref: CallRef, line: VoiceLine): Promise<void> {
    return this.conversation ? this.conversation(ref, line) : Promise.reject(new Error('this test runs no conversation'));
  }

  /** Records a call about to be placed, as the domain does before asking the carrier. */
  dialing(req: PlaceCallRequest): void {
    const { callId, attempt, mode, amd } = req;
    this.calls.set(callId, { callId, attempt, mode, message: req.message ?? null, amd, voicemailMessage: req.voicemailMessage ?? null, status: 'dialing' });
  }

  /** Records the carrier's id for a placed call, as the domain does once the dial is answered. */
  linked(callId: string, providerCallId: string): void {
    this.byProviderId.set(providerCallId, callId);
  }

  get events(): CarrierEvent[] {
    return this.applied.flatMap((a) => a.events);
  }

  eventsOf(callId: string): CarrierEvent[] {
    return this.events.filter((e) => 'callId' in e && e.callId === callId);
  }

  ended(callId: string): CallEnded | undefined {
    return this.eventsOf(callId).find((e): e is CallEnded => e.type === 'call.ended');
  }

  private apply(e: CarrierEvent): void {
    if (e.type === 'call.inbound') {
      const callId = `in:${e.providerCallId}`;
      this.calls.set(callId, { callId, attempt: 1, mode: this.inboundMode, message: null, amd: 'off', voicemailMessage: null, status: 'ringing' });
      this.byProviderId.set(e.providerCallId, callId);
      return;
    }
    if (!('providerCallId' in e) || !e.type.startsWith('call.')) return;
    const call = this.lookupCall(e);
    if (!call || TERMINAL.has(call.status)) return;
    if (e.type === 'call.ringing') call.status = 'ringing';
    if (e.type === 'call.answered') call.status = 'in_progress';
    if (e.type === 'call.ended') call.status = e.status;
  }
}
