import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Logger } from '../../log.js';
import type { MediaHub, MediaLeg, MediaRoute } from '../../voice/media-port.js';
import { MAX_CARRIER_BACKLOG, numberOrUndefined, readCommonFrame, serveMediaSocket, type MediaFrame } from '../../voice/media-socket.js';
import { base64Bytes, MULAW_SILENCE } from '../../voice/mulaw.js';
import { sendText } from '../../voice/send-text.js';
import { stringField as field } from '../../json.js';

export const TELNYX_MEDIA_PATH = '/media/telnyx';

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
      serveMediaSocket(socket, hub, (text) => readTelnyxFrame(text, socket, control, bearer), log, TELNYX_MEDIA_PATH);
    },
  };
}

type TelnyxFrame = {
  event?: string;
  start?: { call_control_id?: string; custom_parameters?: unknown; media_format?: { encoding?: string } };
  media?: { track?: string; payload?: string; timestamp?: string };
  mark?: { name?: string };
  dtmf?: { digit?: string };
};

function readTelnyxFrame(text: string, socket: WebSocket, control: TelnyxCallControl, bearer: string | undefined): MediaFrame {
  // Our own audio comes back on the outbound track when both tracks are streamed: never feed it to the model.
  if (text.startsWith(MEDIA_PREFIX) && field(text, 'track') !== 'outbound') {
    const payload = field(text, 'payload');
    if (payload !== undefined) return { kind: 'audio', payload, timestampMs: numberOrUndefined(field(text, 'timestamp')) };
  }
  let frame: TelnyxFrame;
  try {
    frame = JSON.parse(text) as TelnyxFrame;
  } catch {
    return { kind: 'other' };
  }
  switch (frame.event) {
    case 'start': {
      const start = frame.start ?? {};
      const encoding = start.media_format?.encoding;
      return {
        kind: 'start',
        token: bearer ?? customToken(start.custom_parameters),
        leg: new TelnyxLeg(socket, start.call_control_id ?? '', control),
        // The bridge passes audio through: anything but μ-law would reach the model as noise.
        ...(encoding !== undefined && !/PCMU|mulaw/i.test(encoding) && { refused: `the stream is ${encoding}, not PCMU` }),
      };
    }
    case 'media':
      return frame.media?.payload && frame.media.track !== 'outbound'
        ? { kind: 'audio', payload: frame.media.payload, timestampMs: numberOrUndefined(frame.media.timestamp) }
        : { kind: 'other' };
    default:
      return readCommonFrame(frame);
  }
}

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
    if (!this.dropping) sendText(this.socket, JSON.stringify({ event: 'mark', mark: { name } }));
  }

  clear(): void {
    this.short = [];
    this.shortBytes = 0;
    sendText(this.socket, '{"event":"clear"}');
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
    this.dropping = this.socket.bufferedAmount > MAX_CARRIER_BACKLOG;
    if (!this.dropping) sendText(this.socket, `{"event":"media","media":{"payload":"${base64}"}}`);
  }
}
