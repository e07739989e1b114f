import WebSocket from 'ws';
import { stringField as field } from '../json.js';
import type { Logger } from '../log.js';
import { sendText } from './send-text.js';

export type RealtimeSettings = { url: string; apiKey: string; model: string; voice: string };

/** A server event, loosely typed: only the fields the bridge reads. */
export type ServerEvent = { type: string; [field: string]: unknown };

export type RealtimeHandlers = {
  /** Every server event but audio deltas, parsed. */
  event(event: ServerEvent): void;
  /** `response.output_audio.delta`, taken apart without parsing its audio-sized JSON more than once. */
  audio(responseId: string, itemId: string, base64: string): void;
  /** The socket failed to open or closed; `expected` when we closed it. */
  closed(why: { expected: boolean; code?: number; status?: number; message: string }): void;
};

/** Above this many unsent bytes to the model, callee audio is dropped rather than queued without bound. */
const MAX_MODEL_BACKLOG = 512 * 1024;
const AUDIO_DELTA = '{"type":"response.output_audio.delta"';

/**
 * One WebSocket to the OpenAI Realtime API (GA shape: no OpenAI-Beta header). Callee audio goes out as
 * `input_audio_buffer.append` built by string concatenation around the carrier's base64, and audio deltas come
 * back the same way: the audio itself is never decoded or re-encoded.
 */
export class RealtimeConnection {
  private readonly ws: WebSocket;
  private closing = false;
  private dropped = 0;

  constructor(settings: RealtimeSettings, private readonly handlers: RealtimeHandlers, private readonly log: Logger) {
    const url = new URL(settings.url);
    if (!url.searchParams.has('model')) url.searchParams.set('model', settings.model);
    this.ws = new WebSocket(url, { headers: { Authorization: `Bearer ${settings.apiKey}` }, perMessageDeflate: false, handshakeTimeout: 10_000, skipUTF8Validation: true });
    this.ws.on('message', (data) => this.receive(data.toString()));
    this.ws.on('unexpected-response', (_req, res) => {
      this.finish({ expected: false, status: res.statusCode, message: `the realtime API refused the connection (HTTP ${res.statusCode})` });
      res.resume();
      this.ws.terminate();
    });
    this.ws.on('error', (err) => this.finish({ expected: false, message: `realtime connection error: ${err.message}` }));
    this.ws.on('close', (code, reason) => this.finish({ expected: this.closing, code, message: `the realtime API closed the session (${code}${reason.length ? ` ${reason.toString()}` : ''})` }));
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(event: Record<string, unknown>): void {
    if (this.open) sendText(this.ws, JSON.stringify(event));
  }

  appendAudio(base64: string): void {
    if (!this.open) return; // nothing to hear it yet; the model must not get stale audio later
    if (this.ws.bufferedAmount > MAX_MODEL_BACKLOG) {
      if (this.dropped++ === 0) this.log.warn('the realtime API is not keeping up; dropping callee audio');
      return;
    }
    sendText(this.ws, `{"type":"input_audio_buffer.append","audio":"${base64}"}`);
  }

  close(): void {
    this.closing = true;
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else this.ws.close(1000);
  }

  private receive(text: string): void {
    if (text.startsWith(AUDIO_DELTA)) {
      const delta = field(text, 'delta');
      const responseId = field(text, 'response_id');
      const itemId = field(text, 'item_id');
      if (delta !== undefined && responseId !== undefined && itemId !== undefined) return this.handlers.audio(responseId, itemId, delta);
    }
    let event: ServerEvent;
    try {
      event = JSON.parse(text) as ServerEvent;
    } catch {
      this.log.warn('unparseable realtime event ignored');
      return;
    }
    if (event.type === 'response.output_audio.delta') {
      return this.handlers.audio(String(event.response_id), String(event.item_id), String(event.delta));
    }
    this.handlers.event(event);
  }

  private finished = false;
  private finish(why: Parameters<RealtimeHandlers['closed']>[0]): void {
    if (this.finished) return;
    this.finished = true;
    this.handlers.closed(why);
  }
}
