import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Logger } from '../../log.js';
import type { MediaHub, MediaLeg, MediaRoute } from '../../voice/media-port.js';
import { MAX_CARRIER_BACKLOG, numberOrUndefined, readCommonFrame, serveMediaSocket, type MediaFrame } from '../../voice/media-socket.js';
import { dtmfTones } from '../../voice/mulaw.js';
import { sendText } from '../../voice/send-text.js';
import { stringField as field } from '../../json.js';

export const TWILIO_MEDIA_PATH = '/media/twilio';

/** Twilio's media frames start this way (its field order is fixed); the rest is read without JSON.parse. */
const MEDIA_PREFIX = '{"event":"media"';

export type TwilioCallControl = {
  hangup(callSid: string): Promise<unknown>;
  /** Replaces the call's TwiML (which ends the stream) with a spoken apology and a hangup. */
  sayAndHangUp(callSid: string, text: string): Promise<void>;
};

/**
 * Twilio Media Streams (`<Connect><Stream>`, bidirectional): JSON text frames, μ-law 8 kHz base64. The token is a
 * `<Parameter>` of the stream, so it arrives in the start frame's customParameters (Twilio forbids a query string).
 */
export function twilioMediaRoute(control: TwilioCallControl, log: Logger): MediaRoute {
  return {
    path: TWILIO_MEDIA_PATH,
    open(socket: WebSocket, _req: IncomingMessage, hub: MediaHub) {
      serveMediaSocket(socket, hub, (text) => readTwilioFrame(text, socket, control), log, TWILIO_MEDIA_PATH);
    },
  };
}

type TwilioFrame = {
  event?: string;
  streamSid?: string;
  start?: { streamSid?: string; callSid?: string; customParameters?: Record<string, string> };
  media?: { payload?: string; timestamp?: string };
  mark?: { name?: string };
  dtmf?: { digit?: string };
};

function readTwilioFrame(text: string, socket: WebSocket, control: TwilioCallControl): MediaFrame {
  if (text.startsWith(MEDIA_PREFIX)) {
    const payload = field(text, 'payload');
    if (payload !== undefined) return { kind: 'audio', payload, timestampMs: numberOrUndefined(field(text, 'timestamp')) };
  }
  let frame: TwilioFrame;
  try {
    frame = JSON.parse(text) as TwilioFrame;
  } catch {
    return { kind: 'other' };
  }
  switch (frame.event) {
    case 'start': {
      const start = frame.start ?? {};
      return { kind: 'start', token: start.customParameters?.token, leg: new TwilioLeg(socket, start.streamSid ?? frame.streamSid ?? '', start.callSid ?? '', control) };
    }
    case 'media':
      return frame.media?.payload ? { kind: 'audio', payload: frame.media.payload, timestampMs: numberOrUndefined(frame.media.timestamp) } : { kind: 'other' };
    default:
      return readCommonFrame(frame);
  }
}

class TwilioLeg implements MediaLeg {
  private readonly mediaHead: string;
  private dropping = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly streamSid: string,
    private readonly callSid: string,
    private readonly control: TwilioCallControl,
  ) {
    this.mediaHead = `{"event":"media","streamSid":"${streamSid}","media":{"payload":"`;
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  sendAudio(base64: string): void {
    this.dropping = this.socket.bufferedAmount > MAX_CARRIER_BACKLOG;
    if (!this.dropping) sendText(this.socket, `${this.mediaHead}${base64}"}}`);
  }

  mark(name: string): void {
    if (!this.dropping) sendText(this.socket, JSON.stringify({ event: 'mark', streamSid: this.streamSid, mark: { name } }));
  }

  clear(): void {
    sendText(this.socket, JSON.stringify({ event: 'clear', streamSid: this.streamSid }));
  }

  /**
   * In-band tones on the stream. An IVR on the far end hears them as any caller's keypad; the alternative, a call
   * update with `<Play digits>`, replaces the call's TwiML and so would end the stream and the conversation.
   */
  async sendDigits(digits: string): Promise<void> {
    this.sendAudio(dtmfTones(digits).toString('base64'));
  }

  async apologizeAndHangUp(text: string): Promise<void> {
    await this.control.sayAndHangUp(this.callSid, text);
  }

  async hangUp(): Promise<void> {
    await this.control.hangup(this.callSid);
  }
}
