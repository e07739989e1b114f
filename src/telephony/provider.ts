import type { Config } from '../config.js';
import type { AgentReport } from '../insights/insights.js';
import type { Logger } from '../log.js';
import type { AnsweredBy, CallMode, VoiceLine } from '../voice/engine.js';
import type { LiveVoicePort, MediaRoute } from '../voice/media-port.js';

/**
 * The edge between Switchboard and a phone network. Each carrier (sim, twilio, telnyx) is one
 * adapter that turns our requests into its wire format and its callbacks into CarrierEvents;
 * nothing past this interface knows which carrier it talks to.
 */
export interface TelephonyProvider {
  readonly name: ProviderName;
  /** Caller id used when neither the request nor SWITCHBOARD_FROM_NUMBER gives one (only a carrier that owns no numbers has one). */
  readonly defaultFromNumber?: string;
  /** Modes this carrier can run today; `initiate_call` refuses the others with a clear sentence. */
  readonly supportedModes: readonly CallMode[];
  /** Starts dialing. Resolves once the carrier accepted the call, with the carrier's id for it. */
  placeCall(req: PlaceCallRequest): Promise<{ providerCallId: string }>;
  /** Hangs up a live call. `gone`: the carrier has no live call by that id (it ended, or never was), so no end will be reported. */
  hangup(providerCallId: string): Promise<'hung_up' | 'gone'>;
  /**
   * Asks the carrier where a call stands, for when its callbacks may have been missed (a restart): the events that
   * bring our record up to date (its answer, its end with the carrier's status), none while it is still up, or
   * `unknown` when the carrier holds no such call. Throws CarrierError when the carrier cannot be asked.
   */
  callState(ref: CallRef): Promise<CallEvent[] | 'unknown'>;
  /** Sends one SMS. Resolves once the carrier accepted it. */
  sendSms(req: SendSmsRequest): Promise<{ providerMessageId: string }>;
  /** Carrier webhook endpoints to mount on the sidecar (empty for sim). */
  readonly webhooks: readonly WebhookRoute[];
  /**
   * The time zone of a number, when the carrier knows it better than the number does (the simulated carrier knows
   * where its people live); calling hours otherwise go by the call's `timezone` or the number's own zones.
   */
  timezoneOf?(number: string): string | undefined;
  /** Media WebSocket paths the carrier streams live calls to (empty without live voice). */
  readonly mediaStreams: readonly MediaRoute[];
  stop(): Promise<void>;
}

export type ProviderName = 'sim' | 'twilio' | 'telnyx';
export { CALL_MODES, type AnsweredBy, type CallMode, type Heard, type VoiceLine } from '../voice/engine.js';
/** Answering-machine detection: off, detect only, or detect and leave the voicemail message after the beep. */
export const AMD_MODES = ['off', 'detect', 'voicemail'] as const;
export type Amd = (typeof AMD_MODES)[number];
/** How an attempt can end: what carriers report and the call lifecycle's final statuses. */
export const CALL_ENDS = ['completed', 'busy', 'no_answer', 'voicemail', 'failed', 'canceled'] as const;
export type CallEnd = (typeof CALL_ENDS)[number];

export type PlaceCallRequest = {
  callId: string;
  attempt: number;
  to: string;
  from: string;
  mode: CallMode;
  /** notify: the whole text to speak; agent: the opening line. */
  message?: string;
  amd: Amd;
  voicemailMessage?: string;
  ringTimeoutSeconds: number;
  maxDurationSeconds: number;
  /** Stable per attempt, so a carrier that dedupes requests (Telnyx command_id) never dials twice on a retry. */
  idempotencyKey: string;
};

export type SendSmsRequest = { messageId: string; to: string; from: string; body: string; idempotencyKey: string };

/**
 * Identifies the attempt a call event belongs to. Adapters that can carry our ids through the carrier
 * (Twilio URL query, Telnyx client_state) set `callId` and `attempt`, which wins over `providerCallId`
 * when a callback races ahead of the dial response.
 */
export type CallRef = { providerCallId: string; callId?: string; attempt?: number };

/** Every carrier's callbacks normalised to one shape. `at` is ISO 8601. */
export type CarrierEvent =
  | (CallRef & { type: 'call.ringing'; at: string })
  | (CallRef & { type: 'call.answered'; at: string })
  | (CallRef & { type: 'call.answered_by'; answeredBy: AnsweredBy; at: string })
  | (CallRef & { type: 'call.dtmf'; digits: string; at: string })
  | (CallRef & { type: 'call.transcript'; speaker: 'agent' | 'callee'; text: string; at: string })
  | (CallRef & { type: 'call.report'; report: AgentReport; at: string })
  | (CallRef & { type: 'call.turn_latency'; turn: number; modelMs: number; firstFrameMs: number; at: string })
  | (CallRef & { type: 'call.ended'; status: CallEnd; cause?: string; errorCode?: string; errorMessage?: string; at: string })
  | { type: 'call.inbound'; providerCallId: string; from: string | null; to: string; at: string }
  | { type: 'sms.sent'; providerMessageId: string; at: string }
  | { type: 'sms.delivered'; providerMessageId: string; at: string }
  | { type: 'sms.failed'; providerMessageId: string; errorCode?: string; errorMessage?: string; at: string }
  | { type: 'sms.inbound'; providerMessageId: string; from: string; to: string; body: string; at: string };

/** The events about a call the domain already knows (every call event but an inbound call's first). */
export type CallEvent = Exclude<Extract<CarrierEvent, CallRef>, { type: 'call.inbound' }>;

/** What the domain tells a carrier adapter about an inbound call before it is answered. */
export type InboundDecision = { accept: true; greeting: string } | { accept: false; reason: string };

/**
 * What a carrier adapter may ask of the rest of Switchboard. `deliver` records the delivery in the
 * webhook inbox and applies its events in one transaction; it answers `duplicate` (and applies
 * nothing) when the same carrier event identity was seen before.
 */
export type ProviderContext = {
  config: Config;
  log: Logger;
  deliver(delivery: { eventKey: string; kind: string } | null, events: CarrierEvent[]): 'applied' | 'duplicate';
  decideInbound(from: string | null, to: string): InboundDecision;
  /** What an accepted inbound call hears first: the AI disclosure, then the configured greeting. */
  inboundGreeting: string;
  /** What an attempt was asked to do, for adapters that drive the call from webhooks (TwiML, Call Control). */
  lookupCall(ref: CallRef): LiveCallInfo | undefined;
  /** Runs the configured voice agent on an answered call over the line the carrier supplies; resolves when it is done. */
  converse(ref: CallRef, line: VoiceLine): Promise<void>;
  /** Live voice for agent calls on real carriers (SWITCHBOARD_VOICE=openai), or null. */
  voice: LiveVoicePort | null;
};

export type LiveCallInfo = {
  callId: string;
  attempt: number;
  mode: CallMode;
  message: string | null;
  amd: Amd;
  voicemailMessage: string | null;
  status: string;
};

/** An HTTP endpoint a carrier posts to. The sidecar reads the raw body (size-capped) and hands it over untouched. */
export type WebhookRoute = {
  method: 'POST' | 'GET';
  path: string;
  handle(req: WebhookRequest): Promise<WebhookResponse>;
};
export type WebhookRequest = { path: string; query: URLSearchParams; headers: Record<string, string | string[] | undefined>; rawBody: Buffer };
export type WebhookResponse = { status: number; contentType?: string; body?: string };

/** A carrier refused or failed a request. `retryable` only when the request is safe to repeat. */
export class CarrierError extends Error {
  override name = 'CarrierError';
  constructor(
    message: string,
    readonly code: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}
