import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { BYTES_PER_MS, FRAME_BYTES, decodeSpeech, encodeSpeech, isSpeech } from './speech-code.js';

/**
 * An offline OpenAI Realtime API (GA shape) over ws://: the events, orderings and errors of
 * reference/realtime-audio.md §3, with audio in `audio/pcmu` carrying the speech code of ./speech-code.ts.
 * It "hears" appended audio through a scripted VAD, "transcribes" it with decodeSpeech, and answers with what a
 * Brain decides, streamed as paced PCMU deltas. Time only advances as audio is appended: the fake never invents it.
 */

type Json = Record<string, unknown>;
export type ToolDef = { type?: string; name: string; description?: string; parameters?: Json };

/** Why the brain is asked. Triggers caused by `response.create` carry its `response.instructions`. */
export type BrainTrigger =
  | { kind: 'response.create'; instructions?: string }
  | { kind: 'user_audio'; transcript: string }
  | { kind: 'user_text'; text: string; instructions?: string }
  | { kind: 'function_output'; name: string; output: string; instructions?: string };
export type BrainInput = BrainTrigger & {
  sessionInstructions: string;
  tools: ToolDef[];
  /** User turns (transcripts) and user text items so far, oldest first. */
  heard: string[];
  /** Scratch space that lives as long as the session (one call). */
  memory: Record<string, unknown>;
  session: FakeSession;
};
export type BrainAction = { say: string } | { call: string; args: Record<string, unknown> };
/** One response's content: every `say` joined into one audio item, then one function call item per `call`; [] = no response. */
export type Brain = (turn: BrainInput) => BrainAction[];

export type FailAfter = { afterResponses: number; how: 'close' | 'error' | 'rate_limit' };
export type FakeRealtimeOptions = {
  apiKey?: string;
  /** Refuse every upgrade with this HTTP status. */
  refuse?: 401 | 429 | 500;
  brain?: Brain;
  /** Audio per `response.output_audio.delta` (default 100 ms). */
  chunkMs?: number;
  /** Wall time between deltas (default 2 ms; 0 = a whole response at once). */
  paceMs?: number;
  failAfter?: FailAfter;
};

/** An assistant audio item. `text` is its transcript as the conversation now holds it (cut by a cancel or a truncate). */
export type Said = { itemId: string; responseId: string; full: string; text: string; ms: number; fullMs: number; truncatedMs?: number };

type Format = { type: string; rate?: number };
type TurnDetection = Json & { type: 'server_vad' | 'semantic_vad'; silence_duration_ms?: number; eagerness?: string; create_response?: boolean; interrupt_response?: boolean };
/** The effective session, as session.created/updated report it (only the fields the fake reads are typed). */
export type SessionConfig = Json & {
  type: 'realtime';
  model: string;
  instructions: string;
  tools: ToolDef[];
  audio: { input: Json & { format: Format; turn_detection: TurnDetection | null; transcription: Json | null }; output: Json & { format: Format; voice: string } };
};

const PCMU = 'audio/pcmu';
const BETA_KEYS = ['modalities', 'input_audio_format', 'output_audio_format', 'turn_detection', 'voice', 'input_audio_transcription', 'input_audio_noise_reduction'];
/** The fake's reading of semantic_vad eagerness: how much trailing silence ends a turn. */
const SEMANTIC_SILENCE_MS: Record<string, number> = { high: 250, medium: 500, auto: 500, low: 1000 };

const newId = (prefix: string): string => `${prefix}_${randomBytes(11).toString('base64url')}`;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export class FakeRealtimeModel {
  readonly sessions: FakeSession[] = [];
  readonly apiKey: string;
  refuse: FakeRealtimeOptions['refuse'];
  /** The brain of sessions opened from now on (unless nextBrain is set). */
  brain: Brain;
  /** Used by the next session only, then cleared. */
  nextBrain?: Brain;
  /** Read live: set it between tests, or mid-session. */
  failAfter?: FailAfter;
  chunkMs: number;
  paceMs: number;

  private readonly waiters = new Map<() => void, (err: Error) => void>();

  private constructor(private readonly server: Server, private readonly wss: WebSocketServer, opts: FakeRealtimeOptions) {
    this.apiKey = opts.apiKey ?? 'sk-test-fake';
    this.refuse = opts.refuse;
    this.brain = opts.brain ?? defaultBrain;
    this.failAfter = opts.failAfter;
    this.chunkMs = opts.chunkMs ?? 100;
    this.paceMs = opts.paceMs ?? 2;
  }

  static async start(opts: FakeRealtimeOptions = {}): Promise<FakeRealtimeModel> {
    const server = createServer((_req, res) => res.writeHead(426, { 'Content-Type': 'text/plain' }).end('Upgrade Required'));
    const model = new FakeRealtimeModel(server, new WebSocketServer({ noServer: true }), opts);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => model.upgrade(req, socket, head));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return model;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/realtime`;
  }

  /**
   * Resolves with the first truthy value of `probe`, re-checked after every connection, client event, timer and close
   * (`await model.waitFor(() => model.sessions[0])`). A probe that throws rejects the wait.
   */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 5_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      const check = (): void => {
        try {
          const value = probe();
          if (value) finish(() => resolve(value));
        } catch (err) {
          finish(() => reject(err as Error));
        }
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`waitFor: still false after ${timeoutMs} ms: ${probe.toString()}`))), timeoutMs);
      this.waiters.set(check, (err) => finish(() => reject(err)));
      check();
    });
  }

  /** @internal Something happened: re-check every waitFor. */
  notify(): void {
    for (const check of [...this.waiters.keys()]) check();
  }

  async close(): Promise<void> {
    for (const fail of [...this.waiters.values()]) fail(new Error('the fake realtime model was closed'));
    for (const session of this.sessions) session.stop();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (this.refuse) return refuseUpgrade(socket, this.refuse);
    if (url.pathname !== '/v1/realtime') return refuseUpgrade(socket, 404);
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return refuseUpgrade(socket, 401, req.headers.authorization === undefined);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const brain = this.nextBrain ?? this.brain;
      this.nextBrain = undefined;
      this.sessions.push(new FakeSession(this, ws, req, url, this.sessions.length, brain));
      this.notify();
    });
  }
}

/** One connection. Public fields are the record tests assert on; the rest is the protocol. */
export class FakeSession {
  readonly model: string;
  readonly headers: IncomingHttpHeaders;
  /** Each `session` object received in a session.update, as sent. */
  readonly sessionUpdates: Json[] = [];
  /** Every client event received, except input_audio_buffer.append (counted in `appended`; audio is not kept). */
  readonly clientEvents: Json[] = [];
  readonly appended = { count: 0, bytes: 0 };
  /** Types of the server events sent, in order. */
  readonly sent: string[] = [];
  readonly truncates: { itemId: string; contentIndex: number; audioEndMs: number; ok: boolean }[] = [];
  readonly functionCalls: { callId: string; name: string; args: Record<string, unknown> }[] = [];
  readonly functionOutputs: { callId: string; name: string; output: string }[] = [];
  /** User audio turns, as transcribed. */
  readonly transcripts: string[] = [];
  readonly heard: string[] = [];
  readonly said: Said[] = [];
  readonly responses: { id: string; status: 'completed' | 'cancelled'; reason?: string }[] = [];
  readonly memory: Record<string, unknown> = {};
  config: SessionConfig;
  closed = false;
  closeCode?: number;

  private readonly timers = new Set<NodeJS.Timeout>();
  private active?: ActiveResponse;
  private completed = 0;
  private lastItemId: string | null = null;
  /** The next response.create's reason, when the client added an item since the last response. */
  private pendingTrigger?: { kind: 'user_text'; text: string } | { kind: 'function_output'; name: string; output: string };
  /** Input audio on the session's own timeline (8 bytes per ms). */
  private audioBytes = 0;
  /** Uncommitted input: with VAD, the frames of the turn in progress; without, everything since the last commit. */
  private pending: Buffer[] = [];
  private turn?: { itemId: string; silentMs: number };
  private refusedFormat = false;

  constructor(private readonly host: FakeRealtimeModel, private readonly ws: WebSocket, req: IncomingMessage, url: URL, readonly index: number, public brain: Brain) {
    this.headers = req.headers;
    this.model = url.searchParams.get('model') ?? 'gpt-realtime';
    this.config = defaultConfig(this.model);
    ws.on('message', (data) => this.onMessage(data));
    ws.on('error', () => {}); // a client that vanishes mid-frame is its test's business, not a crash
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
      this.stop();
      host.notify();
    });
    if (req.headers['openai-beta'] !== undefined) {
      this.refuseBeta();
    } else {
      this.send({ type: 'session.created', session: this.config });
      if (host.failAfter?.afterResponses === 0) this.fail(host.failAfter.how);
    }
  }

  /** @internal Stops every timer (the socket itself is the model's to close). */
  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.active = undefined;
  }

  private onMessage(data: RawData): void {
    let event: unknown;
    try {
      event = JSON.parse(data.toString());
    } catch {
      return this.error('invalid_request_error', 'invalid_json', 'The server could not parse the JSON of the event.');
    }
    if (!isObject(event) || typeof event.type !== 'string') return this.error('invalid_request_error', 'missing_required_parameter', "Missing required parameter: 'type'.", 'type');
    const eventId = typeof event.event_id === 'string' ? event.event_id : null;
    if (event.type !== 'input_audio_buffer.append') this.clientEvents.push(event);
    this.handle(event, eventId);
    this.host.notify();
  }

  private handle(event: Json, eventId: string | null): void {
    switch (event.type) {
      case 'session.update':
        return this.updateSession(event.session, eventId);
      case 'input_audio_buffer.append':
        return this.append(event.audio, eventId);
      case 'input_audio_buffer.commit':
        return this.commitManually(eventId);
      case 'input_audio_buffer.clear':
        this.pending = [];
        this.turn = undefined;
        return this.send({ type: 'input_audio_buffer.cleared' });
      case 'conversation.item.create':
        return this.createItem(event.item, eventId);
      case 'response.create':
        return this.createResponse(isObject(event.response) ? event.response : {}, eventId);
      case 'response.cancel':
        if (this.active) return this.cancel('client_cancelled');
        return this.error('invalid_request_error', 'response_cancel_not_active', 'Cancellation failed: no active response found', null, eventId);
      case 'conversation.item.truncate':
        return this.truncate(event, eventId);
      default:
        return this.error('invalid_request_error', 'invalid_value', `Invalid value: '${String(event.type)}'. The fake does not support this event type.`, 'type', eventId);
    }
  }

  private updateSession(patch: unknown, eventId: string | null): void {
    if (!isObject(patch)) return this.error('invalid_request_error', 'missing_required_parameter', "Missing required parameter: 'session'.", 'session', eventId);
    this.sessionUpdates.push(patch);
    if (BETA_KEYS.some((key) => key in patch)) return this.refuseBeta();
    if (patch.type !== 'realtime') {
      const message = patch.type === undefined ? "Missing required parameter: 'session.type'." : `Invalid value: '${String(patch.type)}'. The fake supports only 'realtime'.`;
      return this.error('invalid_request_error', patch.type === undefined ? 'missing_required_parameter' : 'invalid_value', message, 'session.type', eventId);
    }
    const audio = isObject(patch.audio) ? patch.audio : {};
    for (const dir of ['input', 'output'] as const) {
      const format = isObject(audio[dir]) ? (audio[dir] as Json).format : undefined;
      if (format !== undefined && (!isObject(format) || format.type !== PCMU)) {
        const message = `The fake realtime model handles only ${PCMU}; session.audio.${dir}.format was ${JSON.stringify(format)}.`;
        return this.error('invalid_request_error', 'invalid_value', message, `session.audio.${dir}.format`, eventId);
      }
    }
    this.config = mergeSession(this.config, patch, audio);
    this.send({ type: 'session.updated', session: this.config });
  }

  /** What the beta API's sunset does: one error, then close 4000. */
  private refuseBeta(): void {
    this.error('invalid_request_error', 'beta_api_shape_disabled', 'The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.');
    this.ws.close(4000, 'beta_api_shape_disabled');
  }

  // ── Input audio and the scripted VAD ──

  private append(audio: unknown, eventId: string | null): void {
    if (typeof audio !== 'string') return this.error('invalid_request_error', 'missing_required_parameter', "Missing required parameter: 'audio'.", 'audio', eventId);
    const bytes = Buffer.from(audio, 'base64');
    this.appended.count++;
    this.appended.bytes += bytes.length;
    if (this.config.audio.input.format.type !== PCMU) {
      // The real service would hear noise; the fake says so once, loudly, and ignores the audio.
      if (!this.refusedFormat) this.error('invalid_request_error', 'invalid_value', `The fake realtime model hears only ${PCMU}; set session.audio.input.format first.`, 'audio', eventId);
      this.refusedFormat = true;
      return;
    }
    const vad = this.turnDetection();
    for (let off = 0; off < bytes.length; off += FRAME_BYTES) {
      const frame = bytes.subarray(off, off + FRAME_BYTES);
      const startMs = Math.floor(this.audioBytes / BYTES_PER_MS);
      this.audioBytes += frame.length;
      if (!vad) {
        this.pending.push(frame);
        continue;
      }
      const speech = isSpeech(frame);
      if (!this.turn) {
        if (!speech) continue; // silence between turns is dropped, not buffered
        this.turn = { itemId: newId('item'), silentMs: 0 };
        this.send({ type: 'input_audio_buffer.speech_started', audio_start_ms: startMs, item_id: this.turn.itemId });
        if (this.active && vad.interruptResponse) this.cancel('turn_detected');
      }
      this.pending.push(frame);
      this.turn.silentMs = speech ? 0 : this.turn.silentMs + frame.length / BYTES_PER_MS;
      if (this.turn.silentMs < vad.silenceMs) continue;
      const { itemId } = this.turn;
      this.turn = undefined;
      // audio_end_ms includes the trailing silence that ended the turn, as the real server reports it.
      this.send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: Math.floor(this.audioBytes / BYTES_PER_MS), item_id: itemId });
      const transcript = this.commit(itemId);
      // A turn that ends during a response (interrupt_response off) gets no second one, as the server would refuse it.
      if (vad.createResponse && !this.active) this.respond({ kind: 'user_audio', transcript });
    }
  }

  private turnDetection(): { silenceMs: number; createResponse: boolean; interruptResponse: boolean } | undefined {
    const td = this.config.audio.input.turn_detection;
    if (!td) return undefined;
    const silenceMs = td.type === 'semantic_vad' ? SEMANTIC_SILENCE_MS[td.eagerness ?? 'auto'] ?? 500 : td.silence_duration_ms ?? 500;
    return { silenceMs, createResponse: td.create_response !== false, interruptResponse: td.interrupt_response !== false };
  }

  private commitManually(eventId: string | null): void {
    const ms = this.pending.reduce((n, b) => n + b.length, 0) / BYTES_PER_MS;
    if (ms < 100) {
      const message = `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${ms.toFixed(2)}ms of audio.`;
      return this.error('invalid_request_error', 'input_audio_buffer_commit_empty', message, null, eventId);
    }
    const itemId = this.turn?.itemId ?? newId('item');
    this.turn = undefined;
    this.commit(itemId);
  }

  /** Commits the pending audio as a user item and "transcribes" it; the transcript event follows asynchronously. */
  private commit(itemId: string): string {
    const bytes = Buffer.concat(this.pending);
    this.pending = [];
    this.send({ type: 'input_audio_buffer.committed', previous_item_id: this.lastItemId, item_id: itemId });
    this.addItem({ id: itemId, object: 'realtime.item', type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_audio', transcript: null }] });
    const transcript = decodeSpeech(bytes).join(' ');
    this.transcripts.push(transcript);
    this.heard.push(transcript);
    if (this.config.audio.input.transcription) {
      const usage = { type: 'duration', seconds: bytes.length / (BYTES_PER_MS * 1000) };
      this.later(() => this.send({ type: 'conversation.item.input_audio_transcription.completed', item_id: itemId, content_index: 0, transcript, usage }), 0);
    }
    return transcript;
  }

  // ── Conversation items ──

  private createItem(item: unknown, eventId: string | null): void {
    if (!isObject(item)) return this.error('invalid_request_error', 'missing_required_parameter', "Missing required parameter: 'item'.", 'item', eventId);
    const added: Json = { id: typeof item.id === 'string' ? item.id : newId('item'), object: 'realtime.item', status: 'completed', ...item };
    if (item.type === 'function_call_output') {
      if (typeof item.call_id !== 'string' || typeof item.output !== 'string') {
        return this.error('invalid_request_error', 'missing_required_parameter', 'A function_call_output needs a string call_id and output.', 'item', eventId);
      }
      const name = this.functionCalls.find((c) => c.callId === item.call_id)?.name ?? 'unknown';
      this.functionOutputs.push({ callId: item.call_id, name, output: item.output });
      this.pendingTrigger = { kind: 'function_output', name, output: item.output };
    } else if (item.type === 'message' && item.role === 'user') {
      const parts = Array.isArray(item.content) ? item.content.filter(isObject) : [];
      const text = parts.flatMap((p) => (p.type === 'input_text' && typeof p.text === 'string' ? [p.text] : [])).join(' ');
      this.heard.push(text);
      this.pendingTrigger = { kind: 'user_text', text };
    }
    this.addItem(added);
  }

  /** conversation.item.added (+ .done when the item is already complete); items chain by previous_item_id. */
  private addItem(item: Json, done = true): void {
    const previous = this.lastItemId;
    this.lastItemId = item.id as string;
    this.send({ type: 'conversation.item.added', previous_item_id: previous, item });
    if (done) this.send({ type: 'conversation.item.done', previous_item_id: previous, item });
  }

  private truncate(event: Json, eventId: string | null): void {
    const itemId = String(event.item_id);
    const contentIndex = Number(event.content_index ?? 0);
    const audioEndMs = Number(event.audio_end_ms);
    const said = this.said.find((s) => s.itemId === itemId);
    const record = { itemId, contentIndex, audioEndMs, ok: false };
    this.truncates.push(record);
    if (!said) return this.error('invalid_request_error', 'invalid_value', `Invalid value: '${itemId}'. No assistant audio item with this id.`, 'item_id', eventId);
    if (contentIndex !== 0) return this.error('invalid_request_error', 'invalid_value', 'Invalid value: content_index must be 0.', 'content_index', eventId);
    if (!Number.isFinite(audioEndMs) || audioEndMs < 0 || audioEndMs > said.ms) {
      return this.error('invalid_request_error', 'invalid_value', `Audio content of ${Math.round(said.ms)}ms is already shorter than ${audioEndMs}ms`, 'audio_end_ms', eventId);
    }
    // The server drops the unheard part of the transcript along with the audio.
    said.truncatedMs = audioEndMs;
    said.text = said.full.slice(0, Math.ceil((said.full.length * audioEndMs) / said.fullMs));
    record.ok = true;
    this.send({ type: 'conversation.item.truncated', item_id: itemId, content_index: contentIndex, audio_end_ms: audioEndMs });
  }

  // ── Responses ──

  private createResponse(options: Json, eventId: string | null): void {
    if (this.active) {
      const message = `Conversation already has an active response in progress: ${this.active.id}. Wait until the response is finished before creating a new one.`;
      return this.error('invalid_request_error', 'conversation_already_has_active_response', message, null, eventId);
    }
    const instructions = typeof options.instructions === 'string' ? options.instructions : undefined;
    this.respond(this.pendingTrigger ? { ...this.pendingTrigger, instructions } : { kind: 'response.create', instructions });
  }

  private respond(trigger: BrainTrigger): void {
    const state = { sessionInstructions: this.config.instructions, tools: this.config.tools, heard: this.heard, memory: this.memory, session: this };
    const actions = this.brain({ ...trigger, ...state });
    this.pendingTrigger = undefined; // any response, even one VAD started, answers the items added before it
    const text = actions.flatMap((a) => ('say' in a ? [a.say] : [])).join(' ');
    const calls = actions.flatMap((a) => ('call' in a ? [a] : []));
    if (!text && calls.length === 0) return;
    if (text && this.config.audio.output.format.type !== PCMU) {
      return this.error('invalid_request_error', 'invalid_value', `The fake realtime model speaks only ${PCMU}; set session.audio.output.format first.`, 'session.audio.output.format');
    }
    const r: ActiveResponse = { id: newId('resp'), output: [], steps: [], next: 0, items: 0 };
    this.active = r;
    this.send({ type: 'response.created', response: this.responseObject(r, 'in_progress') });
    if (text) this.planSpeech(r, text);
    for (const call of calls) this.planCall(r, call.call, call.args);
    r.steps.push({ run: () => this.finish(r) });
    this.run(r);
  }

  /** Runs steps until one asks for a pause (an audio delta with more to follow), then resumes paceMs later. */
  private run(r: ActiveResponse): void {
    while (this.active === r && r.next < r.steps.length) {
      const step = r.steps[r.next++];
      step.run();
      if (step.pause && this.host.paceMs > 0) {
        r.timer = this.later(() => this.run(r), this.host.paceMs);
        return;
      }
    }
  }

  private planSpeech(r: ActiveResponse, text: string): void {
    const audio = encodeSpeech(text);
    const outputIndex = r.items++;
    const item: Json = { id: newId('item'), object: 'realtime.item', type: 'message', status: 'in_progress', role: 'assistant', content: [] };
    const ids = { response_id: r.id, item_id: item.id, output_index: outputIndex, content_index: 0 };
    const said: Said = { itemId: item.id as string, responseId: r.id, full: text, text: '', ms: 0, fullMs: audio.length / BYTES_PER_MS };
    r.steps.push({
      run: () => {
        this.said.push(said);
        r.speaking = { ids, item, said };
        this.send({ type: 'response.output_item.added', response_id: r.id, output_index: outputIndex, item });
        this.addItem(item, false);
        this.send({ type: 'response.content_part.added', ...ids, part: { type: 'audio', transcript: '' } });
      },
    });
    const chunkBytes = Math.max(1, Math.round(this.host.chunkMs * BYTES_PER_MS));
    for (let off = 0; off < audio.length; off += chunkBytes) {
      const end = Math.min(off + chunkBytes, audio.length);
      r.steps.push({
        pause: end < audio.length,
        run: () => {
          // The transcript keeps pace with the audio: its share of characters for the audio sent so far.
          const upTo = text.slice(0, Math.ceil((text.length * end) / audio.length));
          if (upTo.length > said.text.length) this.send({ type: 'response.output_audio_transcript.delta', ...ids, delta: upTo.slice(said.text.length) });
          said.text = upTo;
          said.ms = end / BYTES_PER_MS;
          this.send({ type: 'response.output_audio.delta', ...ids, delta: audio.subarray(off, end).toString('base64') });
        },
      });
    }
    r.steps.push({
      run: () => {
        r.speaking = undefined;
        this.send({ type: 'response.output_audio.done', ...ids });
        this.send({ type: 'response.output_audio_transcript.done', ...ids, transcript: text });
        this.send({ type: 'response.content_part.done', ...ids, part: { type: 'audio', transcript: text } });
        this.itemDone(r, outputIndex, { ...item, status: 'completed', content: [{ type: 'output_audio', transcript: text }] });
      },
    });
  }

  private planCall(r: ActiveResponse, name: string, args: Record<string, unknown>): void {
    const outputIndex = r.items++;
    const callId = newId('call');
    const item: Json = { id: newId('item'), object: 'realtime.item', type: 'function_call', status: 'in_progress', name, call_id: callId, arguments: '' };
    const json = JSON.stringify(args);
    const ids = { response_id: r.id, item_id: item.id, output_index: outputIndex, call_id: callId };
    r.steps.push({
      run: () => {
        this.functionCalls.push({ callId, name, args });
        this.send({ type: 'response.output_item.added', response_id: r.id, output_index: outputIndex, item });
        this.addItem(item, false);
        this.send({ type: 'response.function_call_arguments.delta', ...ids, delta: json });
        this.send({ type: 'response.function_call_arguments.done', ...ids, name, arguments: json });
        this.itemDone(r, outputIndex, { ...item, status: 'completed', arguments: json });
      },
    });
  }

  private itemDone(r: ActiveResponse, outputIndex: number, item: Json): void {
    r.output.push(item);
    this.send({ type: 'response.output_item.done', response_id: r.id, output_index: outputIndex, item });
    this.send({ type: 'conversation.item.done', item });
  }

  private finish(r: ActiveResponse): void {
    this.active = undefined;
    this.completed++;
    this.responses.push({ id: r.id, status: 'completed' });
    this.send({ type: 'response.done', response: this.responseObject(r, 'completed') });
    this.sendRateLimits();
    const fail = this.host.failAfter;
    if (fail && this.completed >= fail.afterResponses) this.fail(fail.how);
  }

  /** What the server does on barge-in or response.cancel: no more deltas, the audio closed, the response cancelled. */
  private cancel(reason: 'turn_detected' | 'client_cancelled'): void {
    const r = this.active!;
    this.active = undefined;
    if (r.timer) this.clear(r.timer);
    if (r.speaking) {
      const { ids, item, said } = r.speaking;
      this.send({ type: 'response.output_audio.done', ...ids });
      r.output.push({ ...item, status: 'incomplete', content: [{ type: 'output_audio', transcript: said.text }] });
    }
    this.responses.push({ id: r.id, status: 'cancelled', reason });
    this.send({ type: 'response.done', response: this.responseObject(r, 'cancelled', { type: 'cancelled', reason }) });
    this.sendRateLimits();
  }

  private responseObject(r: ActiveResponse, status: string, statusDetails: Json | null = null): Json {
    const spokenMs = this.said.filter((s) => s.responseId === r.id).reduce((n, s) => n + s.ms, 0);
    const outputTokens = Math.ceil(spokenMs / 50) + r.items * 10;
    const usage = status === 'in_progress' ? null : { total_tokens: 100 + outputTokens, input_tokens: 100, output_tokens: outputTokens, input_token_details: { text_tokens: 100, audio_tokens: 0, cached_tokens: 0 }, output_token_details: { text_tokens: r.items * 10, audio_tokens: Math.ceil(spokenMs / 50) } };
    const format = this.config.audio.output.format;
    return { object: 'realtime.response', id: r.id, status, status_details: statusDetails, output: r.output, conversation_id: 'conv_fake', output_modalities: ['audio'], max_output_tokens: 'inf', audio: { output: { format, voice: this.config.audio.output.voice } }, usage, metadata: null };
  }

  private sendRateLimits(): void {
    this.send({ type: 'rate_limits.updated', rate_limits: [{ name: 'requests', limit: 5000, remaining: 4999, reset_seconds: 0.012 }, { name: 'tokens', limit: 40000, remaining: 38000, reset_seconds: 3 }] });
  }

  private fail(how: FailAfter['how']): void {
    if (how === 'error') this.error('server_error', null, 'The server had an error while processing your request. Sorry about that!');
    if (how === 'rate_limit') this.error('tokens', 'rate_limit_exceeded', `Rate limit reached for ${this.model} on tokens per min (TPM): Limit 40000, Used 40000, Requested 1200. Please try again in 1.8s.`);
    this.ws.close(1011, how === 'close' ? 'internal error' : how);
  }

  // ── Plumbing ──

  private send(event: Json & { type: string }): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.sent.push(event.type);
    this.ws.send(JSON.stringify({ event_id: newId('event'), ...event }));
  }

  private error(type: string, code: string | null, message: string, param: string | null = null, eventId: string | null = null): void {
    this.send({ type: 'error', error: { type, code, message, param, event_id: eventId } });
  }

  private later(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
      this.host.notify();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private clear(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }
}

type ActiveResponse = {
  id: string;
  output: Json[];
  steps: { run: () => void; pause?: boolean }[];
  next: number;
  items: number;
  timer?: NodeJS.Timeout;
  /** The audio item being streamed, for a cancel to close. */
  speaking?: { ids: Json; item: Json; said: Said };
};

function defaultConfig(model: string): SessionConfig {
  return {
    type: 'realtime', object: 'realtime.session', id: newId('sess'), model, output_modalities: ['audio'], instructions: '', tools: [], tool_choice: 'auto',
    max_output_tokens: 'inf', tracing: null, truncation: 'auto', prompt: null, include: null,
    audio: {
      // The service's defaults are 24 kHz PCM: a client must ask for PCMU, and the fake checks that it did.
      input: { format: { type: 'audio/pcm', rate: 24000 }, transcription: null, noise_reduction: null, turn_detection: withVadDefaults({ type: 'server_vad' }) },
      output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin', speed: 1 },
    },
  };
}

/** Only the fields present change; turn_detection, format and transcription are replaced whole. */
function mergeSession(config: SessionConfig, patch: Json, audio: Json): SessionConfig {
  const input = isObject(audio.input) ? audio.input : {};
  const output = isObject(audio.output) ? audio.output : {};
  const next = { ...config, ...patch, id: config.id, object: config.object, audio: { input: { ...config.audio.input, ...input }, output: { ...config.audio.output, ...output } } } as SessionConfig;
  const td = next.audio.input.turn_detection;
  if (isObject(input.turn_detection) && td) next.audio.input.turn_detection = withVadDefaults(td);
  return next;
}

function withVadDefaults(td: TurnDetection): TurnDetection {
  return td.type === 'semantic_vad'
    ? { eagerness: 'auto', create_response: true, interrupt_response: true, ...td }
    : { threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, idle_timeout_ms: null, create_response: true, interrupt_response: true, ...td };
}

const REFUSALS: Record<number, [string, Json]> = {
  401: ['Unauthorized', { message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' }],
  404: ['Not Found', { message: 'Invalid URL (GET /)', type: 'invalid_request_error', param: null, code: null }],
  429: ['Too Many Requests', { message: 'Rate limit reached for requests per min (RPM): Limit 200, Used 200, Requested 1. Please try again in 300ms.', type: 'requests', param: null, code: 'rate_limit_exceeded' }],
  500: ['Internal Server Error', { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null }],
};

function refuseUpgrade(socket: Duplex, status: number, missingKey = false): void {
  const [reason, error] = REFUSALS[status]!;
  const body = JSON.stringify({ error: missingKey ? { ...error, message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)." } : error });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

// ── The default brain: a rule-following phone agent ──

type AgentMemory = { greeted?: boolean; next?: number; answers?: Record<string, string>; reported?: boolean };
const KEYS: Record<string, string> = { star: '*', pound: '#' };

/** The fields to collect: the keys of report_call's `fields` object schema. */
export function reportFields(tools: ToolDef[]): string[] {
  const params = tools.find((t) => t.name === 'report_call')?.parameters;
  const fields = isObject(params) && isObject(params.properties) ? params.properties.fields : undefined;
  return isObject(fields) && isObject(fields.properties) ? Object.keys(fields.properties) : [];
}

export const question = (field: string): string => `What is your ${field.replace(/[_.-]+/g, ' ').trim()}?`;

/**
 * Greets (a double-quoted string in response.instructions, verbatim, else "Hello.") and asks the first field; presses
 * the key an IVR menu names; stores each later user turn as the current field's answer and asks the next; reports
 * with report_call after the last; says goodbye and calls end_call once the report is acknowledged.
 */
export const defaultBrain: Brain = (turn) => {
  const m = turn.memory as AgentMemory;
  const fields = reportFields(turn.tools);
  const answers = (m.answers ??= {});
  m.next ??= 0;
  const ask = (): string | undefined => (m.next! < fields.length ? question(fields[m.next!]) : undefined);
  switch (turn.kind) {
    case 'function_output':
      return turn.name === 'report_call' ? [{ say: 'Thank you, goodbye.' }, { call: 'end_call', args: { reason: 'done' } }] : [];
    case 'user_audio': {
      const transcript = turn.transcript.trim();
      if (!transcript || m.reported) return [];
      const key = /press (\d|star|pound)/i.exec(transcript)?.[1];
      if (key) return [{ call: 'send_dtmf', args: { digits: KEYS[key.toLowerCase()] ?? key } }];
      // Someone new came on the line ("Hello?", the person after a menu): ask again what is still open.
      if (/^(hello|hi|hey)\b/i.test(transcript) && transcript.length < 40) {
        const again = ask();
        return again ? [{ say: again }] : [];
      }
      if (m.next < fields.length) answers[fields[m.next++]] = transcript;
      const next = ask();
      if (next) return [{ say: next }];
      m.reported = true;
      const summary = `Collected ${fields.length} field(s)${fields.length ? `: ${fields.join(', ')}` : ''}.`;
      return [{ call: 'report_call', args: { outcome: 'completed', summary, fields: { ...answers } } }];
    }
    default: {
      // response.create, or a user text item followed by response.create
      const quoted = /"([^"]+)"/.exec(turn.instructions ?? '')?.[1];
      const opening = quoted ?? (m.greeted ? undefined : 'Hello.');
      m.greeted = true;
      const text = [opening, m.reported ? undefined : ask()].filter(Boolean).join(' ');
      return text ? [{ say: text }] : [];
    }
  }
};
