import { AI_DISCLOSURE } from '../../voice/disclosure.js';
import type { InboundDecision, LiveCallInfo } from '../provider.js';
import { isAfterGreeting, isMachine, type TwilioAnsweredBy } from './answered-by.js';
import type { Verb } from './twiml.js';

const say = (text: string | null): Verb[] => (text?.trim() ? [{ verb: 'say', text }] : []);
const HANGUP: Verb = { verb: 'hangup' };

/**
 * What an answered outbound call does, from what the attempt was asked and who picked up. An agent call hears the
 * AI disclosure from Twilio first, always, then is connected to the live agent (`stream`, when live voice runs).
 */
export function outboundScript(call: LiveCallInfo | undefined, answeredBy: TwilioAnsweredBy | undefined, stream: () => Verb | undefined): Verb[] {
  if (!call) return [HANGUP];
  if (isMachine(answeredBy)) {
    // A machine only hears us when a voicemail drop was asked for and its greeting is over.
    if (call.amd !== 'voicemail' || !isAfterGreeting(answeredBy)) return [HANGUP];
    return [...say(call.voicemailMessage ?? (call.mode === 'notify' ? call.message : null)), HANGUP];
  }
  if (call.mode === 'notify') return [...say(call.message), HANGUP];
  const agent = call.mode === 'agent' ? stream() : undefined;
  return agent ? [...say(AI_DISCLOSURE), agent] : [HANGUP];
}

/** A conversation call that a person (or nobody could tell who) answered: the conversation takes it. */
export const isConversation = (call: LiveCallInfo | undefined, answeredBy: TwilioAnsweredBy | undefined): call is LiveCallInfo =>
  call?.mode === 'conversation' && !isMachine(answeredBy);

/** An inbound call is rejected before it is ever connected, or greeted. */
export function inboundScript(decision: InboundDecision): Verb[] {
  return decision.accept ? [...say(decision.greeting), HANGUP] : [{ verb: 'reject' }];
}
