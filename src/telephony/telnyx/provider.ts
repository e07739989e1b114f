import type { KeyObject } from 'node:crypto';
import { ConfigError, requireSettings, type Config } from '../../config.js';
import type { Logger } from '../../log.js';
import { CarrierError, type AnsweredBy, type CallMode, type CallRef, type ProviderContext, type TelephonyProvider } from '../provider.js';
import { unsupportedMode } from '../modes.js';
import { planCallEvent, type CallFlowDeps, type CallPlan } from './call-flow.js';
import { TELNYX_MEDIA_PATH, telnyxMediaRoute, type TelnyxCallControl } from './media-stream.js';
import { CommandRunner } from './commands.js';
import { callStatusEvents } from './call-status.js';
import { TelnyxConversationLine } from './conversation.js';
import { mediaSocketUrl } from '../../voice/media-port.js';
import { isCallGone, isCallUnknown } from './errors.js';
import { messageEvents, type TelnyxEvent } from './events.js';
import { commandId, TelnyxRest } from './rest.js';
import { DEFAULT_REQUEST_RETRY, type RequestRetry } from '../retry.js';
import { parseTelnyxPublicKey } from './signature.js';
import { TELNYX_WEBHOOK_PATH, telnyxWebhookRoute } from './webhook.js';

export type TelnyxProviderOptions = {
  /** Retries of idempotent Call Control commands (default 3 tries, 200 ms·2^n apart). */
  retry?: RequestRetry;
  /** Per-request timeout of the REST client (default 10 s). */
  requestTimeoutMs?: number;
};


/** Telnyx Call Control v2 and Messaging, driven from signed webhooks. */
export function createTelnyxProvider(ctx: ProviderContext, opts: TelnyxProviderOptions = {}): TelephonyProvider {
  const { config } = ctx;
  const log = ctx.log.child({ carrier: 'telnyx' });
  // Fails closed: without these the carrier cannot dial or be reached.
  const { TELNYX_API_KEY: apiKey, TELNYX_CONNECTION_ID: connectionId, SWITCHBOARD_PUBLIC_URL: publicUrl } = requireSettings(config, [
    'TELNYX_API_KEY',
    'TELNYX_CONNECTION_ID',
    'SWITCHBOARD_PUBLIC_URL',
  ]);
  const verifyKey = webhookKey(config, log);
  const webhookUrl = `${publicUrl}${TELNYX_WEBHOOK_PATH}`;
  const rest = new TelnyxRest({
    apiKey,
    connectionId,
    baseURL: config.SWITCHBOARD_TELNYX_API_URL,
    timeoutMs: opts.requestTimeoutMs ?? 10_000,
    retry: opts.retry ?? DEFAULT_REQUEST_RETRY,
    log,
  });
  const runner = new CommandRunner(rest, (delivery, events) => ctx.deliver(delivery, events), log);
  const voice = ctx.voice;
  // Agent calls need live voice (SWITCHBOARD_VOICE=openai): the carrier streams, the realtime model talks. Conversation
  // calls need nothing more than Telnyx's own speech and speech recognition.
  const supportedModes: readonly CallMode[] = voice ? ['notify', 'agent', 'conversation'] : ['notify', 'conversation'];
  /** The lines of conversation calls in progress, by call_control_id. */
  const conversations = new Map<string, TelnyxConversationLine>();
  const flowDeps: CallFlowDeps = {
    log,
    lookupCall: (ref: CallRef) => ctx.lookupCall(ref),
    decideInbound: (from: string | null, to: string) => ctx.decideInbound(from, to),
    greetings: new Map<string, string>(),
    defaultGreeting: ctx.inboundGreeting,
    streamToken: (ref) => voice?.streamToken(ref),
    mediaUrl: mediaSocketUrl(publicUrl, TELNYX_MEDIA_PATH),
    conversing: (id) => conversations.has(id),
  };
  const control: TelnyxCallControl = {
    hangup: (id) => rest.hangup(id, commandId(`hangup:${id}`)),
    sendDtmf: (id, digits) => rest.sendDtmf(id, digits, commandId(`dtmf:${id}:${Date.now()}:${digits}`)),
    async sayAndHangUp(id, text) {
      await rest.stopStreaming(id, commandId(`stream-stop:${id}`));
      // call.speak.ended then hangs up, as after every speech that is not an agent call's disclosure.
      await rest.speak(id, text, commandId(`apology:${id}`));
    },
  };

  function onEvent(event: TelnyxEvent): void {
    const plan: CallPlan | undefined = planCallEvent(event, flowDeps) ?? asPlan(messageEvents(event));
    if (!plan || (plan.events.length === 0 && plan.commands.length === 0 && !plan.line)) {
      log.debug({ eventType: event.type, eventId: event.id }, 'telnyx event ignored');
      return;
    }
    // A redelivered event changes nothing, sends no command twice and tells a conversation nothing twice.
    if (ctx.deliver({ eventKey: event.id, kind: event.type }, plan.events) === 'duplicate') return;
    if (plan.converse) converse(plan.converse.ref, plan.converse.answeredBy);
    if (plan.commands.length) runner.run(event.id, plan.commands);
    if (plan.line) conversations.get(plan.line.callControlId)?.receive(plan.line.input);
  }

  /** Hands an answered conversation call to the core, without waiting: the conversation lasts as long as the call. */
  function converse(ref: CallRef, answeredBy: AnsweredBy | null): void {
    const id = ref.providerCallId;
    if (conversations.has(id)) return;
    const line = new TelnyxConversationLine(id, rest, answeredBy);
    conversations.set(id, line);
    void ctx
      .converse(ref, line)
      .catch((err: unknown) => log.error({ err, callControlId: id }, 'telnyx conversation failed'))
      .finally(() => {
        conversations.delete(id);
        // The call ends with its conversation, as on every carrier.
        if (!line.closed) runner.run(`conversation-over:${id}`, [{ verb: 'hangup', callControlId: id }]);
      });
  }

  return {
    name: 'telnyx',
    supportedModes,
    webhooks: [telnyxWebhookRoute({ log, verifyKey, onEvent })],
    mediaStreams: voice ? [telnyxMediaRoute(control, log)] : [],

    async placeCall(req) {
      if (!supportedModes.includes(req.mode)) {
        throw new CarrierError(unsupportedMode('Telnyx', req.mode, supportedModes), 'unsupported_mode');
      }
      const providerCallId = await rest.dial({
        to: req.to,
        from: req.from,
        webhookUrl,
        state: { call_id: req.callId, attempt: req.attempt },
        commandId: req.idempotencyKey,
        amd: req.amd === 'detect' ? 'detect' : req.amd === 'voicemail' ? 'detect_beep' : undefined,
        ringTimeoutSeconds: req.ringTimeoutSeconds,
        maxDurationSeconds: req.maxDurationSeconds,
      });
      if (req.mode === 'agent') voice?.prepare({ providerCallId, callId: req.callId, attempt: req.attempt });
      return { providerCallId };
    },

    async hangup(providerCallId) {
      try {
        await rest.hangup(providerCallId, commandId(`hangup:${providerCallId}`));
        return 'hung_up';
      } catch (err) {
        if (err instanceof CarrierError && isCallGone(err)) return 'gone';
        throw err;
      }
    },

    async callState(ref) {
      try {
        return callStatusEvents(await rest.callStatus(ref.providerCallId), ref, ctx.lookupCall(ref)?.status === 'in_progress');
      } catch (err) {
        if (err instanceof CarrierError && isCallUnknown(err)) return 'unknown';
        throw err;
      }
    },

    async sendSms(req) {
      const providerMessageId = await rest.sendMessage({
        to: req.to,
        from: req.from,
        text: req.body,
        webhookUrl,
        messagingProfileId: config.TELNYX_MESSAGING_PROFILE_ID,
      });
      return { providerMessageId };
    },

    stop: () => runner.idle(),
  };
}

/** The key webhooks are checked with; null only when verification is switched off, which is said loudly once. */
function webhookKey(config: Config, log: Logger): KeyObject | null {
  if (config.SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY) {
    log.warn(
      'SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY is on: Telnyx webhooks are NOT authenticated and anyone who can reach ' +
        `${TELNYX_WEBHOOK_PATH} can fake call and SMS events. Never run this way on a public URL.`,
    );
    return null;
  }
  const { TELNYX_PUBLIC_KEY: publicKey } = requireSettings(config, ['TELNYX_PUBLIC_KEY']);
  try {
    return parseTelnyxPublicKey(publicKey).key;
  } catch (err) {
    throw new ConfigError([(err as Error).message]);
  }
}

function asPlan(events: CallPlan['events'] | undefined): CallPlan | undefined {
  return events && { events, commands: [] };
}
