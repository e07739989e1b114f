import { createHash } from 'node:crypto';
import Telnyx from 'telnyx';
import type { CallRetrieveStatusResponse } from 'telnyx/resources/calls';
import type { Logger } from '../../log.js';
import { CarrierError } from '../provider.js';
import { encodeClientState, type CallState } from './client-state.js';
import { isTransient, toCarrierError } from './errors.js';
import { withRetry, type RequestRetry } from '../retry.js';

const TELNYX_API_URL = 'https://api.telnyx.com/v2';

export type DialRequest = {
  to: string;
  from: string;
  webhookUrl: string;
  state: CallState;
  commandId: string;
  amd: 'detect' | 'detect_beep' | undefined;
  ringTimeoutSeconds: number;
  maxDurationSeconds: number;
};

export type TelnyxCallStatus = NonNullable<CallRetrieveStatusResponse['data']>;

export type MessageRequest = { to: string; from: string; text: string; webhookUrl: string; messagingProfileId?: string };

// Plain text, the one voice and language Telnyx's basic TTS always has.
const SPEAK_DEFAULTS = { voice: 'female', language: 'en-US', payload_type: 'text' } as const;

/**
 * The Telnyx REST calls Switchboard makes, through the official SDK with its own retries off. Call Control commands
 * carry a command_id, which Telnyx dedupes, so they are repeated on transient failures; sending an SMS is not
 * idempotent at Telnyx and is tried once. Every failure comes out as a CarrierError.
 */
export class TelnyxRest {
  private readonly client: Telnyx;
  private readonly connectionId: string;
  private readonly retry: RequestRetry;

  constructor(opts: { apiKey: string; connectionId: string; baseURL?: string; timeoutMs: number; retry: RequestRetry; log: Logger }) {
    this.connectionId = opts.connectionId;
    this.retry = opts.retry;
    this.client = new Telnyx({
      apiKey: opts.apiKey,
      publicKey: null,
      clientID: null,
      clientSecret: null,
      baseURL: opts.baseURL ?? TELNYX_API_URL,
      maxRetries: 0,
      timeout: opts.timeoutMs,
      logLevel: 'warn',
      // Only the message text: SDK details may hold request headers.
      logger: {
        error: (msg) => opts.log.error({ component: 'telnyx-sdk' }, msg),
        warn: (msg) => opts.log.warn({ component: 'telnyx-sdk' }, msg),
        info: (msg) => opts.log.debug({ component: 'telnyx-sdk' }, msg),
        debug: (msg) => opts.log.trace({ component: 'telnyx-sdk' }, msg),
      },
    });
  }

  /** Resolves with the new call's call_control_id. */
  async dial(req: DialRequest): Promise<string> {
    const res = await this.command(() =>
      this.client.calls.dial({
        connection_id: this.connectionId,
        to: req.to,
        from: req.from,
        webhook_url: req.webhookUrl,
        webhook_url_method: 'POST',
        client_state: encodeClientState(req.state),
        command_id: req.commandId,
        timeout_secs: req.ringTimeoutSeconds,
        time_limit_secs: req.maxDurationSeconds,
        ...(req.amd && { answering_machine_detection: req.amd }),
      }),
    );
    const id = res.data?.call_control_id;
    if (!id) throw new CarrierError('Telnyx accepted the dial but returned no call_control_id', 'malformed_response');
    return id;
  }

  async speak(callControlId: string, text: string, commandId: string, state?: CallState): Promise<void> {
    await this.command(() =>
      this.client.calls.actions.speak(callControlId, {
        ...SPEAK_DEFAULTS,
        payload: text,
        command_id: commandId,
        ...(state && { client_state: encodeClientState(state) }),
      }),
    );
  }

  async hangup(callControlId: string, commandId: string, state?: CallState): Promise<void> {
    await this.command(() =>
      this.client.calls.actions.hangup(callControlId, { command_id: commandId, ...(state && { client_state: encodeClientState(state) }) }),
    );
  }

  /**
   * Starts the bidirectional media stream of a live agent call: PCMU both ways in RTP mode (the default MP3 mode plays
   * one message a second), inbound track only so our own audio never comes back to the model.
   */
  async startStreaming(callControlId: string, stream: { url: string; token: string }, commandId: string, state?: CallState): Promise<void> {
    await this.command(() =>
      this.client.calls.actions.startStreaming(callControlId, {
        stream_url: stream.url,
        stream_track: 'inbound_track',
        stream_codec: 'PCMU',
        stream_bidirectional_mode: 'rtp',
        stream_bidirectional_codec: 'PCMU',
        stream_auth_token: stream.token,
        custom_parameters: [{ name: 'token', value: stream.token }],
        command_id: commandId,
        ...(state && { client_state: encodeClientState(state) }),
      }),
    );
  }

  /**
   * Starts speech recognition of the callee on a conversation call; each utterance then arrives as call.transcription
   * webhooks. The Telnyx engine: Telnyx calls it more accurate and faster than Google (the default), and only it labels
   * each result with its track. The inbound track only: our own speech is never transcribed back to us.
   */
  async startTranscription(callControlId: string, commandId: string): Promise<void> {
    await this.command(() =>
      this.client.calls.actions.startTranscription(callControlId, {
        transcription_engine: 'Telnyx',
        transcription_engine_config: { transcription_engine: 'Telnyx', language: 'en' },
        transcription_tracks: 'inbound',
        command_id: commandId,
      }),
    );
  }

  async stopStreaming(callControlId: string, commandId: string): Promise<void> {
    await this.command(() => this.client.calls.actions.stopStreaming(callControlId, { command_id: commandId }));
  }

  async sendDtmf(callControlId: string, digits: string, commandId: string): Promise<void> {
    await this.command(() => this.client.calls.actions.sendDtmf(callControlId, { digits, command_id: commandId }));
  }

  async answer(callControlId: string, commandId: string): Promise<void> {
    await this.command(() => this.client.calls.actions.answer(callControlId, { command_id: commandId }));
  }

  async reject(callControlId: string, commandId: string): Promise<void> {
    await this.command(() => this.client.calls.actions.reject(callControlId, { cause: 'CALL_REJECTED', command_id: commandId }));
  }

  /** The call's status as Telnyx keeps it (alive or not, talk time, end time), until 10 minutes after it ended. */
  async callStatus(callControlId: string): Promise<TelnyxCallStatus> {
    // A read is as safe to repeat as a command.
    const res = await this.command(() => this.client.calls.retrieveStatus(callControlId));
    if (!res.data) throw new CarrierError('Telnyx answered the call status request without data', 'malformed_response');
    return res.data;
  }

  /** Resolves with the Telnyx message id. */
  async sendMessage(req: MessageRequest): Promise<string> {
    const res = await this.once(() =>
      this.client.messages.send({
        to: req.to,
        from: req.from,
        text: req.text,
        webhook_url: req.webhookUrl,
        ...(req.messagingProfileId && { messaging_profile_id: req.messagingProfileId }),
      }),
    );
    const id = res.data?.id;
    if (!id) throw new CarrierError('Telnyx accepted the message but returned no id', 'malformed_response');
    return id;
  }

  private async once<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw toCarrierError(err, false);
    }
  }

  private async command<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(send, this.retry, isTransient);
    } catch (err) {
      throw toCarrierError(err, true);
    }
  }
}

/** A UUID-shaped command_id derived from `seed`, so every retry of one decision carries the same id. */
export function commandId(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
