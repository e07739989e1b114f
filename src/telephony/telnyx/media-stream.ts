import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Logger } from '../../log.js';
import type { MediaHub, MediaLeg, MediaListener, MediaRoute } from '../../voice/media-port.js';
import { base64Bytes, MULAW_SILENCE } from '../../voice/mulaw.js';
import { field } from '../../voice/realtime.js';

export const TELNYX_MEDIA_PATH = '/media/telnyx';

const START_TIMEOUT_MS = 10_000;
const MAX_BACKLOG = 1024 * 1024;
/** Telnyx plays RTP-mode chunks of 20 ms to 30 s; a shorter one is an error frame. */
const MIN_CHUNK_BYTES = 160;
const MEDIA_PREFIX = '{"event":"media"';

export type TelnyxCallControl = {
  hangup(callControlId: string): Promise<unknown>;
  sendDtmf(callControlId: string, digits: string): Promise<void>;
  /** Stops the stream, speaks `text` with Telnyx's TTS, and hangs up when it has been said. */
  sayAndHangUp(callControlId: string, text: string): Promise<void>;
};

/**
 * Telnyx media streaming (Call Control `streaming_start`, bidirectional RTP mode, PCMU both ways): snake_case JSON
 * frames with a top-level stream_id. The token is our `stream_auth_token`; Telnyx does not document how it presents
 * it, so it is taken from the upgrade's `Authorization: Bearer` header or, failing that, from the start frame's
 * custom parameters, where we also put it.
 */
export function telnyxMediaRoute(control: TelnyxCallControl, log: Logger): MediaRoute {
  return {
    path: TELNYX_MEDIA_PATH,
    open(socket: WebSocket, req: IncomingMessage, hub: MediaHub) {
      const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
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
        if (listener && text.startsWith(MEDIA_PREFIX) && field(text, 'track') !== 'outbound') {
          const payload = field(text, 'payload');
          if (payload !== undefined) return listener.audio(payload, numberOrUndefined(field(text, 'timestamp')));
        }
        let frame: TelnyxFrame;
        try {
          frame = JSON.parse(text) as TelnyxFrame;
        } catch {
          return;
        }
        switch (frame.event) {
          case 'start': {
            if (listener || !frame.start) return;
            clearTimeout(startTimer);
            const encoding = frame.start.media_format?.encoding;
            const token = bearer ?? customToken(frame.start.custom_parameters);
            const leg = new TelnyxLeg(socket, frame.start.call_control_id ?? '', control);
            listener = encoding === undefined || /PCMU|mulaw/i.test(encoding) ? hub.claim({ token, leg }) : undefined;
            if (!listener) {
              log.warn({ path: TELNYX_MEDIA_PATH, encoding }, 'media stream refused: its token is missing, wrong, used, or its call is not live (or it is not PCMU)');
              socket.close(1008, 'unauthorized');
            }
            return;
          }
          case 'media':
            // Our own audio comes back on the outbound track when both tracks are streamed: never feed it to the model.
            if (listener && frame.media?.payload && frame.media.track !== 'outbound') listener.audio(frame.media.payload, numberOrUndefined(frame.media.timestamp));
            return;
          case 'mark':
            if (frame.mark?.name) listener?.mark(frame.mark.name);
            return;
          case 'dtmf':
            if (frame.dtmf?.digit) listener?.dtmf(frame.dtmf.digit);
            return;
          case 'error':
            log.warn({ error: frame.error }, 'telnyx media stream error frame');
            return;
          case 'stop':
            end();
            return;
          default:
            return;
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

type TelnyxFrame = {
  event?: string;
  stream_id?: string;
  start?: { call_control_id?: string; custom_parameters?: unknown; media_format?: { encoding?: string } };
  media?: { track?: string; payload?: string; timestamp?: string };
  mark?: { name?: string };
  dtmf?: { digit?: string };
  error?: unknown;
};

/** custom_parameters arrive as an object in the start frame (older docs show a list of {name, value}). */
function customToken(params: unknown): string | undefined {
  if (Array.isArray(params)) return (params as { name?: string; value?: string }[]).find((p) => p.name === 'token')?.value;
  if (params && typeof params === 'object') {
    const token = (params as Record<string, unknown>).token;
    return typeof token === 'string' ? token : undefined;
  }
  return undefined;
}

class TelnyxLeg implements MediaLeg {
  /** Audio shorter than a 20 ms chunk, held until more arrives or a mark closes it. */
  private short: Buffer[] = [];
  private shortBytes = 0;
  private dropping = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly callControlId: string,
    private readonly control: TelnyxCallControl,
  ) {}

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  sendAudio(base64: string): void {
    if (this.shortBytes === 0 && base64Bytes(base64) >= MIN_CHUNK_BYTES) return this.write(base64);
    const bytes = Buffer.from(base64, 'base64');
    this.short.push(bytes);
    this.shortBytes += bytes.length;
    if (this.shortBytes >= MIN_CHUNK_BYTES) this.flush();
  }

  mark(name: string): void {
    this.flush();
    if (!this.dropping) this.socket.send(JSON.stringify({ event: 'mark', mark: { name } }));
  }

  clear(): void {
    this.short = [];
    this.shortBytes = 0;
    this.socket.send('{"event":"clear"}');
  }

  async sendDigits(digits: string): Promise<void> {
    await this.control.sendDtmf(this.callControlId, digits);
  }

  async apologizeAndHangUp(text: string): Promise<void> {
    await this.control.sayAndHangUp(this.callControlId, text);
  }

  async hangUp(): Promise<void> {
    await this.control.hangup(this.callControlId);
  }

  /** Sends held short audio, padded with silence to the 20 ms Telnyx requires. */
  private flush(): void {
    if (this.shortBytes === 0) return;
    const chunk = Buffer.concat([...this.short, Buffer.alloc(Math.max(0, MIN_CHUNK_BYTES - this.shortBytes), MULAW_SILENCE)]);
    this.short = [];
    this.shortBytes = 0;
    this.write(chunk.toString('base64'));
  }

  private write(base64: string): void {
    if (this.socket.bufferedAmount > MAX_BACKLOG) {
      this.dropping = true;
      return;
    }
    this.dropping = false;
    this.socket.send(`{"event":"media","media":{"payload":"${base64}"}}`);
  }
}

function numberOrUndefined(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) ? n : undefined;
}
