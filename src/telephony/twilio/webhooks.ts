import type { CallRef, CarrierEvent, ProviderContext, WebhookRequest, WebhookResponse, WebhookRoute } from '../provider.js';
import { parseAnsweredBy, toAnsweredBy } from './answered-by.js';
import { inboundScript, isConversation, outboundScript } from './call-script.js';
import type { TwilioConversations } from './conversation.js';
import { TWILIO_MEDIA_PATH } from './media-stream.js';
import { TWILIO_WEBHOOK_PATHS, type TwilioWebhookKind } from './paths.js';
import { formParams, isSignedByTwilio } from './signature.js';
import { INBOUND_DISCLOSURE } from '../../voice/disclosure.js';
import { mediaSocketUrl } from '../../voice/media-port.js';
import { callStatusEvents, eventTime, smsStatusEvents, type TwilioParams } from './status.js';
import { emptyMessagingTwiml, renderVoiceTwiml, spokenTexts, type Verb } from './twiml.js';
import { hasE164Shape } from '../../phone.js';

type Handler = (p: TwilioParams, req: WebhookRequest) => WebhookResponse | Promise<WebhookResponse>;

const OK: WebhookResponse = { status: 200 };

/** Twilio's placeholders for a withheld caller id ("ANONYMOUS", "RESTRICTED", "UNAVAILABLE", "BLOCKED" on a keypad). */
const WITHHELD = new Set(['+266696687', '+7378742833', '+86282452253', '+2562533']);

/**
 * The Twilio webhooks. Each request is authenticated against the URL Twilio was given, then its
 * events are delivered once per carrier event identity; a replay gets the same answer and changes nothing.
 */
export function createTwilioWebhooks(ctx: ProviderContext, publicUrl: string, conversations: TwilioConversations): WebhookRoute[] {
  const log = ctx.log.child({ carrier: 'twilio' });
  const mediaUrl = mediaSocketUrl(publicUrl, TWILIO_MEDIA_PATH);
  const authToken = ctx.config.TWILIO_AUTH_TOKEN;
  const skipVerify = ctx.config.SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY;
  if (skipVerify) {
    log.warn('SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY is on: Twilio webhook signatures are NOT checked, so anyone who can reach the sidecar can fake calls and messages. Never use this in production.');
  }

  // The key is built from signed parameters only (CallSid/MessageSid + status/sequence): the unsigned
  // I-Twilio-Idempotency-Token header could be changed by anyone replaying a captured request.
  function deliver(kind: string, signedKey: string, events: CarrierEvent[]): void {
    if (events.length > 0) firstTime(kind, signedKey, events);
  }

  /** Records the delivery (with its events, if any); false when it was seen before and nothing was applied. */
  function firstTime(kind: string, signedKey: string, events: CarrierEvent[]): boolean {
    const eventKey = `twilio:${signedKey}`;
    if (ctx.deliver({ eventKey, kind }, events) === 'applied') return true;
    log.debug({ eventKey }, 'duplicate Twilio delivery ignored');
    return false;
  }

  const voice: Handler = (p, req) => {
    const callId = req.query.get('call_id');
    if (callId === null) return p.Direction === 'inbound' ? inboundCall(p, req) : hangUpStranger(p);
    const ref = callRef(req, p.CallSid ?? '');
    const answeredBy = parseAnsweredBy(p.AnsweredBy);
    const call = ctx.lookupCall(ref);
    if (!call) log.warn({ callId, providerCallId: ref.providerCallId }, 'Twilio asked for an attempt Switchboard does not know; hanging up');
    const at = eventTime(p);
    const answered: CarrierEvent[] = answeredBy ? [{ ...ref, type: 'call.answered_by', answeredBy: toAnsweredBy(answeredBy), at }] : [];
    const key = `voice:${ref.providerCallId}:${p.AnsweredBy ?? '-'}`;
    if (isConversation(call, answeredBy)) {
      // Recorded even with no events: a replayed voice webhook must not start a second conversation.
      const fresh = firstTime('twilio.voice', key, answered);
      return twimlResponse(conversations.answer(ref, answeredBy ? toAnsweredBy(answeredBy) : null, fresh));
    }
    const verbs = outboundScript(call, answeredBy, () => {
      const token = ctx.voice?.streamToken(ref);
      return token ? { verb: 'stream', url: mediaUrl, token } : undefined;
    });
    deliver('twilio.voice', key, [...answered, ...agentLines(ref, verbs, at)]);
    return twimlResponse(renderVoiceTwiml(verbs));
  };

  // The policy decides before any TwiML exists, so a refused caller is never connected.
  function inboundCall(p: TwilioParams, req: WebhookRequest): WebhookResponse {
    const providerCallId = p.CallSid ?? '';
    const from = callerId(p.From);
    const to = p.To ?? '';
    const decision = ctx.decideInbound(from, to);
    const verbs = inboundScript(decision);
    if (!decision.accept) {
      log.info({ providerCallId, reason: decision.reason }, 'inbound Twilio call rejected');
      return twimlResponse(renderVoiceTwiml(verbs));
    }
    const at = eventTime(p);
    const handler = ctx.config.SWITCHBOARD_INBOUND_HANDLER;
    // With the `agent` inbound handler the live agent takes the call, after Twilio says the disclosure.
    const agent = handler === 'agent' && ctx.voice !== null;
    // With the `client` handler the conversation takes it: it says the disclosure and what else the caller hears.
    const spoken = agent ? [{ verb: 'say' as const, text: INBOUND_DISCLOSURE }] : handler === 'client' ? [] : verbs;
    // Returning TwiML answers the call; its end arrives on the number's status callback (/webhooks/twilio/status).
    const events: CarrierEvent[] = [
      { type: 'call.inbound', providerCallId, from, to, at },
      { providerCallId, type: 'call.answered', at },
      ...agentLines({ providerCallId }, spoken, at),
    ];
    const fresh = firstTime('twilio.voice', `voice:${providerCallId}:inbound`, events);
    if (handler === 'client') return twimlResponse(conversations.answer({ providerCallId }, null, fresh));
    if (!agent) return twimlResponse(renderVoiceTwiml(verbs));
    const token = ctx.voice?.streamToken({ providerCallId });
    return twimlResponse(renderVoiceTwiml(token ? [...spoken, { verb: 'stream', url: mediaUrl, token }] : [{ verb: 'hangup' }]));
  }

  function hangUpStranger(p: TwilioParams): WebhookResponse {
    log.warn({ providerCallId: p.CallSid, direction: p.Direction }, 'Twilio voice webhook for a call Switchboard did not place; hanging up');
    return twimlResponse(renderVoiceTwiml([{ verb: 'hangup' }]));
  }

  const status: Handler = (p, req) => {
    if (p.MessageSid && p.MessageStatus) {
      deliver('twilio.sms-status', `sms-status:${p.MessageSid}:${p.MessageStatus}`, smsStatusEvents(p));
    } else if (p.CallSid && p.CallStatus) {
      const events = callStatusEvents(p, callRef(req, p.CallSid));
      deliver('twilio.call-status', `call-status:${p.CallSid}:${p.CallStatus}:${p.SequenceNumber ?? '-'}`, events);
      if (events.some((e) => e.type === 'call.ended')) conversations.ended(p.CallSid);
    }
    return OK;
  };

  // A conversation call's TwiML document `step` is done: its Say played (its Redirect), or its Gather ended, with the
  // callee's utterance in SpeechResult (absent or empty on silence). Each step calls back once: a replay is recorded
  // as such and its speech is not heard twice.
  const gather: Handler = async (p, req) => {
    const callSid = p.CallSid ?? '';
    const step = Number(req.query.get('step'));
    const fresh = firstTime('twilio.gather', `gather:${callSid}:${step}`, []);
    const speech = p.SpeechResult?.trim() || undefined;
    if (speech && fresh) log.debug({ providerCallId: callSid, step, confidence: p.Confidence }, 'Twilio heard the callee');
    return twimlResponse(await conversations.callback(callSid, Number.isInteger(step) ? step : -1, speech, fresh));
  };

  const sms: Handler = (p, req) => {
    const providerMessageId = p.MessageSid ?? p.SmsSid ?? '';
    const event: CarrierEvent = { type: 'sms.inbound', providerMessageId, from: p.From ?? '', to: p.To ?? '', body: p.Body ?? '', at: eventTime(p) };
    deliver('twilio.sms', `sms:${providerMessageId}`, [event]);
    return twimlResponse(emptyMessagingTwiml());
  };

  const route = (kind: TwilioWebhookKind, handler: Handler): WebhookRoute => {
    const path = TWILIO_WEBHOOK_PATHS[kind];
    return {
      method: 'POST',
      path,
      handle: async (req) => {
        if (!skipVerify && !signed(req)) {
          log.warn({ path }, 'rejected a Twilio webhook whose X-Twilio-Signature is missing or wrong');
          return { status: 401, contentType: 'text/plain', body: 'invalid X-Twilio-Signature' };
        }
        return handler(firstValues(formParams(req.rawBody)), req);
      },
    };
  };

  function signed(req: WebhookRequest): boolean {
    if (!authToken) return false; // fail closed: nothing can be verified without the token
    const query = req.query.toString();
    const url = `${publicUrl}${req.path}${query ? `?${query}` : ''}`;
    return isSignedByTwilio(authToken, { url, signature: header(req, 'x-twilio-signature'), rawBody: req.rawBody, contentType: header(req, 'content-type') });
  }

  return [route('voice', voice), route('status', status), route('sms', sms), route('gather', gather)];
}

function agentLines(ref: CallRef, verbs: readonly Verb[], at: string): CarrierEvent[] {
  return spokenTexts(verbs).map((text) => ({ ...ref, type: 'call.transcript' as const, speaker: 'agent' as const, text, at }));
}

/** Our ids ride in the query of the URLs we gave Twilio, so a callback that races the dial response still finds its attempt. */
function callRef(req: WebhookRequest, providerCallId: string): CallRef {
  const callId = req.query.get('call_id');
  const attempt = Number(req.query.get('attempt'));
  return { providerCallId, ...(callId ? { callId } : {}), ...(Number.isInteger(attempt) && attempt > 0 ? { attempt } : {}) };
}

/** A caller's number, or null when it is withheld or not a phone number (anonymous, SIP, client). */
function callerId(from: string | undefined): string | null {
  if (!from || WITHHELD.has(from) || !hasE164Shape(from)) return null;
  return from;
}

function header(req: WebhookRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const firstValues = (params: Record<string, string | string[]>): TwilioParams =>
  Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));

const twimlResponse = (body: string): WebhookResponse => ({ status: 200, contentType: 'text/xml', body });
