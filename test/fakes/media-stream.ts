import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { FRAME_BYTES } from './speech-code.js';
import type { MediaCallee, MediaLink } from './media-callee.js';

/**
 * One carrier media stream as the carrier side runs it: a WebSocket client to the app's stream URL that carries a
 * simulated person (media-callee.ts) in a carrier's dialect of the protocol. Twilio and Telnyx differ only in how
 * frames are spelled and checked, which each emulator supplies as a `StreamProtocol`; this file is the plumbing.
 */

/** An `error` frame a carrier sends back (Telnyx does; Twilio has none). */
export type CarrierError = { title: string; code: string; detail: string };

/** What a message from the app asks the carrier to do, once the carrier's rules have checked it. */
export type ServerFrame =
  | { kind: 'media'; payload: Buffer }
  | { kind: 'mark'; name: string }
  | { kind: 'clear' }
  /** Not acted on: recorded as a violation, and answered with an `error` frame when the carrier has one. */
  | { kind: 'rejected'; violation: string; error?: CarrierError };

type Message = Record<string, unknown>;

/** A carrier's spelling of the stream protocol. `seq` is the message's sequence number, already a string. */
export interface StreamProtocol {
  connected(): Message;
  start(seq: string): Message;
  media(seq: string, media: { track: 'inbound' | 'outbound'; chunk: string; timestamp: string; payload: string }): Message;
  dtmf(seq: string, digit: string): Message;
  mark(seq: string, name: string): Message;
  stop(seq: string): Message;
  /** The carrier's `error` frame, or undefined when it has none. */
  error(seq: string, error: CarrierError): Message | undefined;
  /** Reads one text message from the app. */
  read(text: string): ServerFrame;
}

/**
 * Why a stream ended. `server`: the app closed the socket; `hangup`: the call was hung up through the carrier's API;
 * `person`: the simulated person hung up; `redirect`: Twilio was given new TwiML; `stopped`: Telnyx streaming_stop;
 * `time_limit`: the call reached its time limit; `failed`: the WebSocket never opened; `emulator`: the emulator closed.
 */
export type StreamEnd = 'server' | 'hangup' | 'person' | 'redirect' | 'stopped' | 'time_limit' | 'failed' | 'emulator';

/**
 * `connecting` until the upgrade completes; `open` once `connected` and `start` are sent; `answered` once the app
 * sent anything back. `refused`: the app closed the socket before sending anything (e.g. it rejected the token).
 * `failed`: the upgrade itself failed (`error` says how, e.g. "Unexpected server response: 401").
 */
export type Handshake = 'connecting' | 'open' | 'answered' | 'refused' | 'failed';

export type MediaStreamOptions = {
  /** streamSid (Twilio) or stream_id (Telnyx). */
  id: string;
  url: string;
  /** The custom parameters the app asked for (they go in `start`). */
  parameters: Record<string, string>;
  /** Headers on the WebSocket upgrade. */
  headers: Record<string, string>;
  protocol: StreamProtocol;
  callee: MediaCallee;
  /** Which of the call's audio the carrier streams to the app: the person (`inbound`), what the person hears (`outbound`). */
  tracks?: { inbound: boolean; outbound: boolean };
  /** Problems found before connecting (e.g. a query string Twilio dropped). */
  violations?: string[];
  /** The person hung up: the emulator ends the call its own way. */
  onPersonHangup(): void;
};

/** How long a closing handshake may take before the socket is cut. */
const CLOSE_TIMEOUT_MS = 1000;

export class MediaStream {
  readonly id: string;
  readonly url: string;
  readonly parameters: Record<string, string>;
  readonly upgradeHeaders: Record<string, string>;
  readonly callee: MediaCallee;
  handshake: Handshake = 'connecting';
  /** Why the upgrade failed, when it did. */
  error?: string;
  /** What the app sent: every message, media (count and bytes), marks (names, in order), clears. */
  readonly fromServer = { messages: 0, media: 0, bytes: 0, marks: [] as string[], clears: 0 };
  /** What the carrier sent: media frames per track, dtmf keys, mark echoes, error frames. */
  readonly toServer = { media: 0, outboundMedia: 0, dtmf: '', marks: [] as string[], errors: [] as CarrierError[] };
  /** Protocol breaches by the app (wrong ids, unnamed marks, short chunks, …), in order. Expect it empty. */
  readonly violations: string[];
  endedBy?: StreamEnd;
  /** The close code and reason of the socket (the app's when it closed it). */
  closeCode?: number;
  closeReason?: string;
  readonly startedAt = Date.now();
  endedAt?: number;
  /** Resolves with whether the socket opened (false: the upgrade failed). */
  readonly opened: Promise<boolean>;
  /** Resolves once the stream is over and its socket closed. */
  readonly ended: Promise<StreamEnd>;

  private ws?: WebSocket;
  private sequence = 0;
  private inboundChunk = 0;
  private outboundChunk = 0;
  private outboundPending: Buffer[] = [];
  private outboundBytes = 0;
  private t0 = 0;
  private closeTimer?: NodeJS.Timeout;
  private resolveOpened!: (ok: boolean) => void;
  private resolveEnded!: (end: StreamEnd) => void;

  constructor(private readonly opts: MediaStreamOptions) {
    this.id = opts.id;
    this.url = opts.url;
    this.parameters = opts.parameters;
    this.upgradeHeaders = opts.headers;
    this.callee = opts.callee;
    this.violations = [...(opts.violations ?? [])];
    this.opened = new Promise((resolve) => (this.resolveOpened = resolve));
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /** True until the stream has ended. */
  get live(): boolean {
    return this.endedAt === undefined;
  }

  /** Connects to the app and, once upgraded, sends `connected` and `start` and puts the person on the line. */
  open(): this {
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, { headers: this.opts.headers, handshakeTimeout: 5000 });
    } catch (err) {
      this.error = (err as Error).message; // not a WebSocket URL
      this.closed(1006, '');
      return this;
    }
    this.ws = ws;
    ws.on('open', () => {
      if (this.endedBy) return void ws.close(1000);
      this.handshake = 'open';
      this.t0 = performance.now();
      this.send(this.opts.protocol.connected());
      this.send(this.opts.protocol.start(this.nextSeq()));
      this.resolveOpened(true);
      this.callee.attach(this.link());
    });
    ws.on('message', (data, isBinary) => this.receive(isBinary ? undefined : data.toString('utf8')));
    ws.on('error', (err) => {
      if (this.handshake === 'connecting') this.error = err.message;
    });
    ws.on('close', (code, reason) => this.closed(code, reason.toString('utf8')));
    return this;
  }

  /** Ends the stream from the carrier's side: `stop`, then the socket closes. Idempotent. */
  end(reason: StreamEnd): void {
    if (this.endedBy) return;
    this.endedBy = reason;
    this.callee.detach();
    const ws = this.ws;
    if (!ws) return this.closed(1000, '');
    if (ws.readyState === WebSocket.OPEN) {
      this.flushOutboundTrack();
      this.send(this.opts.protocol.stop(this.nextSeq()));
      ws.close(1000);
      this.closeTimer = setTimeout(() => ws.terminate(), CLOSE_TIMEOUT_MS);
    } else if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate();
    }
  }

  private closed(code: number, reason: string): void {
    clearTimeout(this.closeTimer);
    if (this.endedAt !== undefined) return;
    if (!this.endedBy) {
      if (this.handshake === 'connecting') this.handshake = 'failed';
      else if (this.handshake === 'open') this.handshake = 'refused';
      this.endedBy = this.handshake === 'failed' ? 'failed' : 'server';
      this.callee.detach();
    } else if (this.handshake === 'connecting') {
      this.handshake = 'failed';
    }
    this.closeCode = code;
    this.closeReason = reason;
    this.endedAt = Date.now();
    this.resolveOpened(false);
    this.resolveEnded(this.endedBy);
  }

  private receive(text: string | undefined): void {
    if (this.endedBy) return;
    this.fromServer.messages++;
    if (this.handshake === 'open') this.handshake = 'answered';
    const frame: ServerFrame = text === undefined ? { kind: 'rejected', violation: 'a binary message (the protocol is JSON text)' } : this.opts.protocol.read(text);
    switch (frame.kind) {
      case 'media':
        this.fromServer.media++;
        this.fromServer.bytes += frame.payload.length;
        return this.callee.onMedia(frame.payload);
      case 'mark':
        this.fromServer.marks.push(frame.name);
        return this.callee.onMark(frame.name);
      case 'clear':
        this.fromServer.clears++;
        return this.callee.onClear();
      case 'rejected': {
        this.violations.push(frame.violation);
        if (!frame.error) return;
        const message = this.opts.protocol.error(this.nextSeq(), frame.error);
        if (message) {
          this.toServer.errors.push(frame.error);
          this.send(message);
        }
      }
    }
  }

  /** What the person uses to talk to the app. */
  private link(): MediaLink {
    const { protocol, tracks = { inbound: true, outbound: false } } = this.opts;
    return {
      sendMedia: (payload, timestampMs) => {
        if (!tracks.inbound) return;
        this.toServer.media++;
        this.send(protocol.media(this.nextSeq(), { track: 'inbound', chunk: String(++this.inboundChunk), timestamp: String(timestampMs), payload: payload.toString('base64') }));
      },
      sendDtmf: (digit) => {
        this.toServer.dtmf += digit;
        this.send(protocol.dtmf(this.nextSeq(), digit));
      },
      echoMark: (name) => {
        this.toServer.marks.push(name);
        this.send(protocol.mark(this.nextSeq(), name));
      },
      hangup: () => this.opts.onPersonHangup(),
      played: tracks.outbound ? (bytes) => this.outboundTrack(bytes) : undefined,
    };
  }

  /** The outbound track: what the person hears, in 20 ms frames, as it plays. */
  private outboundTrack(bytes: Buffer): void {
    this.outboundPending.push(bytes);
    this.outboundBytes += bytes.length;
    while (this.outboundBytes >= FRAME_BYTES) {
      const all = Buffer.concat(this.outboundPending);
      this.sendOutbound(all.subarray(0, FRAME_BYTES));
      this.outboundPending = [all.subarray(FRAME_BYTES)];
      this.outboundBytes -= FRAME_BYTES;
    }
  }

  private flushOutboundTrack(): void {
    if (this.outboundBytes > 0) this.sendOutbound(Buffer.concat(this.outboundPending));
    this.outboundPending = [];
    this.outboundBytes = 0;
  }

  private sendOutbound(frame: Buffer): void {
    this.toServer.outboundMedia++;
    const timestamp = String(Math.round(performance.now() - this.t0));
    this.send(this.opts.protocol.media(this.nextSeq(), { track: 'outbound', chunk: String(++this.outboundChunk), timestamp, payload: frame.toString('base64') }));
  }

  private nextSeq(): string {
    return String(++this.sequence);
  }

  private send(message: Message): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }
}

/** Parses a message from the app as a JSON object, or says why it is not one. */
export function parseMessage(text: string): Message | string {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Message) : 'a message that is not a JSON object';
  } catch {
    return 'a message that is not JSON';
  }
}

/** Base64 audio from a message, or undefined when it is not a base64 string. */
export function decodePayload(payload: unknown): Buffer | undefined {
  if (typeof payload !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(payload) || payload.length % 4 !== 0) return undefined;
  return Buffer.from(payload, 'base64');
}
