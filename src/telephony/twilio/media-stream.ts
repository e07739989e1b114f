import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Logger } from '../../log.js';
import type { MediaHub, MediaLeg, MediaListener, MediaRoute } from '../../voice/media-port.js';
import { dtmfTones } from '../../voice/mulaw.js';
import { field } from '../../voice/realtime.js';

export const TWILIO_MEDIA_PATH = '/media/twilio';

/** A socket that has not sent its start frame by then is closed. */
const START_TIMEOUT_MS = 10_000;
/** Above this many unsent bytes to Twilio, agent audio is dropped rather than queued without bound. */
const MAX_BACKLOG = 1024 * 1024;
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
      let listener: MediaListener | undefined;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        listener?.ended();
      };
      const startTimer = setTimeout(() => socket.close(1008, 'no start frame'), START_TIMEOUT_MS);

      socket.on('message', (data) => {
        const text = data.toString();
        if (listener && text.startsWith(MEDIA_PREFIX)) {
          const payload = field(text, 'payload');
          if (payload !== undefined) return listener.audio(payload, numberOrUndefined(field(text, 'timestamp')));
        }
        let frame: TwilioFrame;
        try {
          frame = JSON.parse(text) as TwilioFrame;
        } catch {
          return;
        }
        switch (frame.event) {
          case 'start': {
            if (listener || !frame.start) return;
            clearTimeout(startTimer);
            const leg = new TwilioLeg(socket, frame.start.streamSid ?? frame.streamSid ?? '', frame.start.callSid ?? '', control);
            listener = hub.claim({ token: frame.start.customParameters?.token, leg });
            if (!listener) {
              log.warn({ path: TWILIO_MEDIA_PATH }, 'media stream refused: its token is missing, wrong, used, or its call is not live');
              socket.close(1008, 'unauthorized');
            }
            return;
          }
          case 'media':
            if (listener && frame.media?.payload) listener.audio(frame.media.payload, numberOrUndefined(frame.media.timestamp));
            return;
          case 'mark':
            if (frame.mark?.name) listener?.mark(frame.mark.name);
            return;
          case 'dtmf':
            if (frame.dtmf?.digit) listener?.dtmf(frame.dtmf.digit);
            return;
          case 'stop':
            end();
            return;
          default:
            return; // connected, and anything newer
        }
      });
      socket.on('close', () => {
        clearTimeout(startTimer);
        end();
      });
      socket.on('error', () => socket.terminate());
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
    if (this.socket.bufferedAmount > MAX_BACKLOG) {
      this.dropping = true;
      return;
    }
    this.dropping = false;
    this.socket.send(`${this.mediaHead}${base64}"}}`);
  }

  mark(name: string): void {
    if (!this.dropping) this.socket.send(JSON.stringify({ event: 'mark', streamSid: this.streamSid, mark: { name } }));
  }

  clear(): void {
    this.socket.send(JSON.stringify({ event: 'clear', streamSid: this.streamSid }));
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

function numberOrUndefined(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) ? n : undefined;
}
