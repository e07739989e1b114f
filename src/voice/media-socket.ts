import type { WebSocket } from 'ws';
import type { Logger } from '../log.js';
import type { MediaHub, MediaLeg, MediaListener } from './media-port.js';

/** One carrier frame, read: the carriers differ only in how they spell these. */
export type MediaFrame =
  /** The stream's identity. `refused` when the carrier's own terms rule it out (an audio format we cannot pass through). */
  | { kind: 'start'; token: string | undefined; leg: MediaLeg; refused?: string }
  | { kind: 'audio'; payload: string; timestampMs: number | undefined }
  | { kind: 'mark'; name: string }
  | { kind: 'dtmf'; digit: string }
  | { kind: 'stop' }
  | { kind: 'other' };

/** A socket that has not sent its start frame by then is closed. */
const START_TIMEOUT_MS = 10_000;
/** Above this many unsent bytes to a carrier, agent audio is dropped rather than queued without bound. */
export const MAX_CARRIER_BACKLOG = 1024 * 1024;

/**
 * The life of one carrier media socket, whatever the carrier: it must present a token the hub accepts in its start
 * frame (within 10 s), else it is closed (1008) before any audio flows, and only the refusal is logged; then frames
 * go to the call's listener, which hears `ended` exactly once however the stream ends.
 */
export function serveMediaSocket(socket: WebSocket, hub: MediaHub, read: (text: string) => MediaFrame, log: Logger, path: string): void {
  let listener: MediaListener | undefined;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    listener?.ended();
  };
  const startTimer = setTimeout(() => socket.close(1008, 'no start frame'), START_TIMEOUT_MS);

  socket.on('message', (data) => {
    const frame = read(data.toString());
    switch (frame.kind) {
      case 'audio':
        return listener?.audio(frame.payload, frame.timestampMs);
      case 'mark':
        return listener?.mark(frame.name);
      case 'dtmf':
        return listener?.dtmf(frame.digit);
      case 'stop':
        return end();
      case 'start': {
        if (listener) return;
        clearTimeout(startTimer);
        listener = frame.refused ? undefined : hub.claim({ token: frame.token, leg: frame.leg });
        if (!listener) {
          log.warn({ path, reason: frame.refused }, 'media stream refused: its token is missing, wrong, used, or its call is not live');
          socket.close(1008, 'unauthorized');
        }
        return;
      }
      default:
        return;
    }
  });
  socket.on('close', () => {
    clearTimeout(startTimer);
    end();
  });
  socket.on('error', () => socket.terminate());
}

/** The frames both carriers spell alike: `mark` echoes, `dtmf` keys from the callee, `stop`. */
export function readCommonFrame(frame: { event?: string; mark?: { name?: string }; dtmf?: { digit?: string } }): MediaFrame {
  if (frame.event === 'mark' && frame.mark?.name) return { kind: 'mark', name: frame.mark.name };
  if (frame.event === 'dtmf' && frame.dtmf?.digit) return { kind: 'dtmf', digit: frame.dtmf.digit };
  if (frame.event === 'stop') return { kind: 'stop' };
  return { kind: 'other' }; // connected, error frames, and anything newer
}

/** A carrier's numeric string ("20"), or undefined. */
export function numberOrUndefined(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) ? n : undefined;
}
