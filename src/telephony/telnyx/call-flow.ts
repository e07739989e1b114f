import type { Logger } from '../../log.js';
import { isE164 } from '../../phone.js';
import { AI_DISCLOSURE, INBOUND_DISCLOSURE } from '../../voice/disclosure.js';
import type { AnsweredBy, CallRef, CarrierEvent, InboundDecision, LiveCallInfo } from '../provider.js';
import { decodeClientState, type CallState } from './client-state.js';
import type { LineInput } from './conversation.js';
import { answeredByFromAmd, CallPayloadSchema, endStatus, type CallPayload, type TelnyxEvent } from './events.js';

/** A Call Control command to send once the webhook that asked for it has been recorded. */
export type CallCommand =
  | { verb: 'answer' | 'reject'; callControlId: string }
  | { verb: 'speak'; callControlId: string; text: string; ref: CallRef; state?: CallState }
  | { verb: 'hangup'; callControlId: string; state?: CallState }
  | { verb: 'stream'; callControlId: string; url: string; token: string; state?: CallState }
  | { verb: 'transcribe'; callControlId: string };

/**
 * What one webhook means: events for the domain, then commands for Telnyx. On conversation calls also: that a person
 * answered and the core takes the call (`converse`), or what the conversation's line hears (`line`).
 */
export type CallPlan = {
  events: CarrierEvent[];
  commands: CallCommand[];
  converse?: { ref: CallRef; answeredBy: AnsweredBy | null };
  line?: { callControlId: string; input: LineInput };
};

export type CallFlowDeps = {
  log: Logger;
  lookupCall(ref: CallRef): LiveCallInfo | undefined;
  decideInbound(from: string | null, to: string): InboundDecision;
  /** Greetings of accepted inbound calls, from the decision until the answer; lost on restart. */
  greetings: Map<string, string>;
  /** Spoken when an inbound call is answered after a restart forgot its greeting. */
  defaultGreeting: string;
  /** Live voice: the media token of an answered agent call (undefined without live voice or for an unknown call). */
  streamToken(ref: CallRef): string | undefined;
  /** Where Telnyx connects an agent call's media stream (wss://…/media/telnyx). */
  mediaUrl: string;
  /** Whether a conversation runs on the call now (none survives a restart). */
  conversing(callControlId: string): boolean;
};

const TERMINAL = new Set(['completed', 'busy', 'no_answer', 'voicemail', 'failed', 'canceled']);
const NOTHING: CallPlan = { events: [], commands: [] };

/**
 * Drives a call from Telnyx's call webhooks. A notify call's text is its last word: we hang up on call.speak.ended,
 * never on a timer, so long messages are heard to the end. An agent call's first words are the AI disclosure, and
 * their end starts the media stream to the live agent. A conversation call is the core's once a person answers: it
 * speaks and listens over a line of ours, which its speak.ended, transcription and hangup webhooks feed.
 * Undefined for events that are not ours.
 */
export function planCallEvent(event: TelnyxEvent, deps: CallFlowDeps): CallPlan | undefined {
  if (!event.type.startsWith('call.')) return undefined;
  const parsed = CallPayloadSchema.safeParse(event.payload);
  if (!parsed.success) {
    deps.log.warn({ eventType: event.type, eventId: event.id, issues: parsed.error.issues.map((i) => i.path.join('.')) }, 'telnyx call event without a usable payload');
    return undefined;
  }
  const p = parsed.data;
  const state = decodeClientState(p.client_state);
  const ref: CallRef = { providerCallId: p.call_control_id, ...(state && { callId: state.call_id, attempt: state.attempt }) };
  const flow = new Flow(event, p, ref, state, deps);
  switch (event.type) {
    case 'call.initiated':
      return p.direction === 'incoming' ? flow.inbound() : { events: [{ ...ref, type: 'call.ringing', at: event.at }], commands: [] };
    case 'call.answered':
      return flow.answered();
    case 'call.machine.detection.ended':
    case 'call.machine.premium.detection.ended':
      return flow.detected();
    case 'call.machine.greeting.ended':
    case 'call.machine.premium.greeting.ended':
      return flow.greetingEnded();
    case 'call.speak.ended':
      return flow.spoken();
    case 'call.transcription':
      return flow.transcribed();
    case 'call.hangup':
      return flow.hungUp();
    default:
      return NOTHING;
  }
}

class Flow {
  constructor(
    private readonly event: TelnyxEvent,
    private readonly p: CallPayload,
    private readonly ref: CallRef,
    private readonly state: CallState | undefined,
    private readonly deps: CallFlowDeps,
  ) {}

  private get id(): string {
    return this.p.call_control_id;
  }

  /** Asks the domain before answering, so a refused caller is never connected. */
  inbound(): CallPlan {
    const from = this.p.from && isE164(this.p.from) ? this.p.from : null;
    const to = this.p.to ?? '';
    const decision = this.deps.decideInbound(from, to);
    if (!decision.accept) {
      this.deps.log.info({ callControlId: this.id, reason: decision.reason }, 'telnyx inbound call rejected');
      return { events: [], commands: [{ verb: 'reject', callControlId: this.id }] };
    }
    this.deps.greetings.set(this.id, decision.greeting);
    return {
      events: [{ type: 'call.inbound', providerCallId: this.id, from, to, at: this.event.at }],
      commands: [{ verb: 'answer', callControlId: this.id }],
    };
  }

  answered(): CallPlan {
    const answered: CarrierEvent = { ...this.ref, type: 'call.answered', at: this.event.at };
    if (!this.state) {
      const greeting = this.deps.greetings.get(this.id) ?? this.deps.defaultGreeting;
      this.deps.greetings.delete(this.id);
      // With the `agent` inbound handler the live agent takes the call (and says the greeting itself).
      const inbound = this.deps.lookupCall(this.ref);
      if (inbound?.mode === 'agent') return this.talk(inbound, [answered], { call_id: inbound.callId, attempt: inbound.attempt }, INBOUND_DISCLOSURE);
      // With the `client` handler the core takes it: it says the disclosure and holds the caller until a client claims the call.
      if (inbound?.mode === 'conversation') return this.converse([answered]);
      return this.say(greeting, [answered]);
    }
    const call = this.liveCall();
    if (!call) return this.hangUp([answered]);
    // With AMD on, the detection result decides what to say.
    if (call.amd !== 'off') return { events: [answered], commands: [] };
    return this.talk(call, [answered]);
  }

  detected(): CallPlan {
    const answeredBy = answeredByFromAmd(this.p.result);
    const events: CarrierEvent[] = [{ ...this.ref, type: 'call.answered_by', answeredBy, at: this.event.at }];
    const call = this.liveCall();
    if (!call) return this.hangUp(events);
    if (answeredBy === 'human' || answeredBy === 'unknown') return this.talk(call, events);
    if (answeredBy === 'machine' && call.amd === 'voicemail') return { events, commands: [] }; // speak after the beep
    return this.hangUp(events, this.machineState());
  }

  greetingEnded(): CallPlan {
    const call = this.liveCall();
    if (!call) return this.hangUp([]);
    if (call.amd !== 'voicemail') return NOTHING;
    return this.say(call.voicemailMessage ?? call.message, [], this.machineState());
  }

  /**
   * Something we said has ended. On a conversation call its line learns it; otherwise it was a notify call's message or
   * voicemail (our last word: hang up) or an agent call's disclosure (connect the live agent).
   */
  spoken(): CallPlan {
    if (this.deps.conversing(this.id)) return this.toLine({ kind: 'spoken' });
    return this.state?.stream ? this.stream() : this.hangUp([]);
  }

  /**
   * Speech recognition on a conversation call. Only a final result is an utterance (interim ones are guesses at words
   * still being said, each revised by the next); and only the callee's track, though we never ask for our own.
   */
  transcribed(): CallPlan {
    const t = this.p.transcription_data;
    const text = t?.transcript?.trim();
    if (!t?.is_final || !text || t.transcription_track === 'outbound') return NOTHING;
    // The callee talks to a conversation nobody runs any more (it was lost in a restart): end the call.
    if (!this.deps.conversing(this.id)) return this.hangUp([]);
    return this.toLine({ kind: 'speech', text });
  }

  /** The disclosure of an agent call was said: connect the live agent. */
  stream(): CallPlan {
    const token = this.liveCall() && this.deps.streamToken(this.ref);
    if (!token) return this.hangUp([]);
    // Later webhooks echo this state: without the flag, the end of any later speech (an apology) hangs up.
    const state = this.state && { call_id: this.state.call_id, attempt: this.state.attempt, ...(this.state.machine && { machine: true as const }) };
    return { events: [], commands: [{ verb: 'stream', callControlId: this.id, url: this.deps.mediaUrl, token, ...(state && { state }) }] };
  }

  hungUp(): CallPlan {
    this.deps.greetings.delete(this.id);
    const cause = this.p.hangup_cause ?? 'unspecified';
    const answered = this.deps.lookupCall(this.ref)?.status === 'in_progress';
    const status = endStatus(cause, answered, this.state?.machine === true);
    const sip = this.p.sip_hangup_cause;
    const errorCode = status !== 'completed' && status !== 'voicemail' && sip && sip !== 'unspecified' ? sip : undefined;
    const ended: CallPlan = { events: [{ ...this.ref, type: 'call.ended', status, cause, ...(errorCode && { errorCode }), at: this.event.at }], commands: [] };
    return this.deps.conversing(this.id) ? { ...ended, line: { callControlId: this.id, input: { kind: 'hangup' } } } : ended;
  }

  /**
   * A person is on the line. A notify call hears its message; an agent call hears the disclosure, said by Telnyx so it
   * is always first and always said, while the live agent prepares its opening line (streamToken starts that); a
   * conversation call goes to the core.
   */
  private talk(call: LiveCallInfo, events: CarrierEvent[], state = this.state, disclosure = AI_DISCLOSURE): CallPlan {
    if (call.mode === 'conversation') return this.converse(events);
    if (call.mode !== 'agent') return this.say(call.message, events);
    if (!state || !this.deps.streamToken(this.ref)) return this.hangUp(events);
    return this.say(disclosure, events, { ...state, stream: true });
  }

  /**
   * Hands the call to the core, which says everything (disclosure first) and records the turns itself; Telnyx starts
   * recognising the callee's speech. `answeredBy` is what detection said, when it ran (`result` is its field).
   */
  private converse(events: CarrierEvent[]): CallPlan {
    const answeredBy = this.p.result ? answeredByFromAmd(this.p.result) : null;
    return { events, commands: [{ verb: 'transcribe', callControlId: this.id }], converse: { ref: this.ref, answeredBy } };
  }

  private toLine(input: LineInput): CallPlan {
    return { events: [], commands: [], line: { callControlId: this.id, input } };
  }

  /** Says `text` (recording it as the agent's words) or, with nothing to say, ends the call. */
  private say(text: string | null, events: CarrierEvent[], state?: CallState): CallPlan {
    if (!text) return this.hangUp(events, state);
    return {
      events: [...events, { ...this.ref, type: 'call.transcript', speaker: 'agent', text, at: this.event.at }],
      commands: [{ verb: 'speak', callControlId: this.id, text, ref: this.ref, ...(state && { state }) }],
    };
  }

  private hangUp(events: CarrierEvent[], state?: CallState): CallPlan {
    return { events, commands: [{ verb: 'hangup', callControlId: this.id, ...(state && { state }) }] };
  }

  /** The attempt as the domain knows it, or undefined when it is unknown or already over (then we only hang up). */
  private liveCall(): LiveCallInfo | undefined {
    const call = this.deps.lookupCall(this.ref);
    return call && !TERMINAL.has(call.status) ? call : undefined;
  }

  // Rides on our next command's client_state so the final call.hangup reports a voicemail.
  private machineState(): CallState | undefined {
    return this.state && { ...this.state, machine: true };
  }
}
