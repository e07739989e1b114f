import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';

/**
 * The carrier side of a live call's audio, as the voice bridge sees it. Each carrier implements it over its own
 * media WebSocket framing (telephony/<carrier>/media-stream.ts); nothing past this port knows which carrier
 * streams the audio. Audio is μ-law 8 kHz, base64, passed through untouched both ways.
 */
export interface MediaLeg {
  /** Queues agent audio to play after what is already queued. */
  sendAudio(base64: string): void;
  /** Asks the carrier to echo `name` once everything queued before it has played. */
  mark(name: string): void;
  /** Drops every queued, unplayed sample (the callee talked over the agent). */
  clear(): void;
  /** Presses keys on the line, as the callee's side hears them. */
  sendDigits(digits: string): Promise<void>;
  /** Ends the stream and has the carrier say `text` in its own voice, then hang up: the agent cannot go on. */
  apologizeAndHangUp(text: string): Promise<void>;
  hangUp(): Promise<void>;
  /** Bytes written to the socket and not yet sent: a slow carrier shows here first. */
  readonly bufferedAmount: number;
}

/** What a carrier's media socket reports, in order, once its token was accepted. */
export interface MediaListener {
  /** Callee audio; `timestampMs` is the carrier's presentation time from the stream's start, when it gives one. */
  audio(base64: string, timestampMs: number | undefined): void;
  mark(name: string): void;
  dtmf(digit: string): void;
  /** The stream ended (stop frame, hangup, socket closed). Called once. */
  ended(): void;
}

/** Who a media socket says it is, from its start frame (and upgrade request). */
export type StreamStart = { token: string | undefined; leg: MediaLeg };

/** What the voice layer offers carrier media sockets. */
export interface MediaHub {
  /** Joins an accepted socket to its call, or undefined when the token is missing, wrong, used or not live. */
  claim(start: StreamStart): MediaListener | undefined;
}

/** The URL a carrier's media stream connects to: the public origin as a WebSocket URL (wss:// behind https). */
export const mediaSocketUrl = (publicUrl: string, path: string): string => `${publicUrl.replace(/^http/, 'ws')}${path}`;

/** A WebSocket path a carrier's media streams connect to, mounted on the sidecar. */
export type MediaRoute = {
  path: string;
  open(socket: WebSocket, req: IncomingMessage, hub: MediaHub): void;
};

/** The attempt a live voice session serves: the carrier's id for it, and ours when the carrier carried them. */
export type AttemptRef = { providerCallId: string; callId?: string; attempt?: number };

/** What carrier adapters ask of live voice (null in ProviderContext when SWITCHBOARD_VOICE is not openai). */
export interface LiveVoicePort extends MediaHub {
  /** An agent call was dialed: open its model session while it rings. */
  prepare(ref: AttemptRef): void;
  /** The agent call was answered: the token for its media stream, or undefined for an attempt Switchboard does not know. */
  streamToken(ref: AttemptRef): string | undefined;
}
