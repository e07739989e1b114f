import { requireSettings } from '../../config.js';
import { CarrierError, type Amd, type CallMode, type CallRef, type PlaceCallRequest, type ProviderContext, type SendSmsRequest, type TelephonyProvider } from '../provider.js';
import { createTwilioClient } from './client.js';
import { twilioWebhookUrl } from './paths.js';
import { DEFAULT_REQUEST_RETRY, type RequestRetry } from '../retry.js';
import { isCallGone, requestTwilio } from './request.js';
import { callResourceEvents } from './status.js';
import { createTwilioWebhooks } from './webhooks.js';
import { createTwilioConversations, type TwilioCallUpdates } from './conversation.js';
import { twilioMediaRoute, type TwilioCallControl } from './media-stream.js';
import { renderVoiceTwiml } from './twiml.js';
import { unsupportedMode } from '../modes.js';

export type TwilioProviderOptions = { retry?: RequestRetry };

const MACHINE_DETECTION: Record<Amd, 'Enable' | 'DetectMessageEnd' | undefined> = {
  off: undefined,
  detect: 'Enable',
  // Waits for the greeting to end, so a voicemail message lands after the beep.
  voicemail: 'DetectMessageEnd',
};

const NOT_FOUND = '20404';

/**
 * Twilio Programmable Voice and Messaging. Calls are driven by TwiML served from our voice webhook,
 * so they keep running (and calling back) across a Switchboard restart.
 */
export function createTwilioProvider(ctx: ProviderContext, opts: TwilioProviderOptions = {}): TelephonyProvider {
  const { SWITCHBOARD_PUBLIC_URL: publicUrl } = requireSettings(ctx.config, ['SWITCHBOARD_PUBLIC_URL']);
  const client = createTwilioClient(ctx.config);
  const log = ctx.log.child({ carrier: 'twilio' });
  const retry = opts.retry ?? DEFAULT_REQUEST_RETRY;
  const voice = ctx.voice;
  // Agent calls need live voice (SWITCHBOARD_VOICE=openai): Twilio streams the call, the realtime model talks.
  // Conversation calls need nothing more: Twilio's own TTS and speech recognition (see conversation.ts).
  const supportedModes: readonly CallMode[] = voice ? ['notify', 'agent', 'conversation'] : ['notify', 'conversation'];
  const control: TwilioCallControl = {
    hangup: (sid) => requestTwilio('calls.update', () => client.calls(sid).update({ status: 'completed' }), { idempotent: true, retry, log }),
    async sayAndHangUp(sid, text) {
      const twiml = renderVoiceTwiml([{ verb: 'say', text }, { verb: 'hangup' }]);
      await requestTwilio('calls.update', () => client.calls(sid).update({ twiml }), { idempotent: true, retry, log });
    },
  };

  const updates: TwilioCallUpdates = {
    async redirect(sid, twiml) {
      await requestTwilio('calls.update', () => client.calls(sid).update({ twiml }), { idempotent: true, retry, log });
    },
    async hangup(sid) {
      await control.hangup(sid);
    },
  };

  return {
    name: 'twilio',
    supportedModes,
    webhooks: createTwilioWebhooks(ctx, publicUrl, createTwilioConversations(ctx, publicUrl, updates)),
    mediaStreams: voice ? [twilioMediaRoute(control, log)] : [],

    async placeCall(req: PlaceCallRequest) {
      if (!supportedModes.includes(req.mode)) {
        throw new CarrierError(unsupportedMode('Twilio', req.mode, supportedModes), 'unsupported_mode');
      }
      const attempt = { callId: req.callId, attempt: req.attempt };
      const machineDetection = MACHINE_DETECTION[req.amd];
      const call = await requestTwilio(
        'calls.create',
        () =>
          client.calls.create({
            to: req.to,
            from: req.from,
            url: twilioWebhookUrl(publicUrl, 'voice', attempt),
            method: 'POST',
            statusCallback: twilioWebhookUrl(publicUrl, 'status', attempt),
            statusCallbackMethod: 'POST',
            statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
            timeout: req.ringTimeoutSeconds,
            timeLimit: req.maxDurationSeconds,
            ...(machineDetection ? { machineDetection } : {}),
          }),
        { idempotent: false, retry, log },
      );
      if (req.mode === 'agent') voice?.prepare({ providerCallId: call.sid, ...attempt });
      return { providerCallId: call.sid };
    },

    async hangup(providerCallId: string) {
      try {
        await requestTwilio('calls.update', () => client.calls(providerCallId).update({ status: 'completed' }), { idempotent: true, retry, log });
        return 'hung_up';
      } catch (err) {
        if (isCallGone(err)) return 'gone';
        throw err;
      }
    },

    async callState(ref: CallRef) {
      try {
        const call = await requestTwilio('calls.fetch', () => client.calls(ref.providerCallId).fetch(), { idempotent: true, retry, log });
        return callResourceEvents(call, ref);
      } catch (err) {
        if (err instanceof CarrierError && err.code === NOT_FOUND) return 'unknown';
        throw err;
      }
    },

    async sendSms(req: SendSmsRequest) {
      const message = await requestTwilio(
        'messages.create',
        () => client.messages.create({ to: req.to, from: req.from, body: req.body, statusCallback: twilioWebhookUrl(publicUrl, 'status') }),
        { idempotent: false, retry, log },
      );
      return { providerMessageId: message.sid };
    },

    // Nothing of ours to wind down: live calls stay with Twilio and keep calling the webhooks.
    async stop() {},
  };
}
