import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { BYTES_PER_MS, decodeSpeech, encodeSpeech, FRAME_BYTES, isSpeech, SILENCE } from './speech-code.js';

/**
 * A simulated person on the far end of a carrier media stream, carrier-neutral: the Twilio and Telnyx emulators
 * wrap it in their own WebSocket protocol (see media-stream.ts).
 *
 * Inbound (person → server): a 20 ms frame (160 bytes of μ-law) every 20 ms of real time, on a drift-free schedule
 * from a monotonic start; silence (0xFF) unless the person (or the IVR before them) is speaking, coded speech when
 * they are (speech-code.ts).
 *
 * Outbound (server → person): received audio joins a playback queue that plays at 8 bytes/ms of real time. A mark
 * is echoed once all audio queued before it has played; `clear` drops the queue and echoes every pending mark at
 * once (Twilio's documented behaviour, emulated on Telnyx too). What played is decoded into utterances and searched
 * for DTMF tones.
 */

export const FRAME_MS = FRAME_BYTES / BYTES_PER_MS; // 20

/** A phone menu in front of the person: says `prompt` and waits for the keys in `digit`; then the next menu, or the person. */
export type IvrMenu = {
  prompt: string;
  /** The key (or keys, e.g. '12#') that lead on. Any other keys get a "not a valid choice" and the prompt again. */
  digit: string;
  then?: IvrMenu;
};

/** A stretch of inbound stream time, in ms from the start of the stream. */
export type StreamWindow = { atMs: number; ms: number };

export type MediaCalleeOptions = {
  /** Said when the person comes on the line: `answerDelayMs` into the first stream, or after the IVR (which defaults it to 'Hello?'). */
  greeting?: string;
  /**
   * What the person knows. When a heard agent utterance mentions every word of a key (`price_quote` → "price" and
   * "quote", prefixes match so "prices" counts), the person answers with the value, `replyDelayMs` after the agent
   * stopped talking. Several facts asked at once are answered in one utterance.
   */
  facts?: Record<string, string>;
  /** A phone menu answers first; the person comes on after its last digit. */
  ivr?: IvrMenu;
  /** Once the agent's current utterance has played `afterAgentMs`, the person says `say` over it (once per call). */
  bargeIn?: { afterAgentMs: number; say: string };
  /** The person hangs up after hearing this many agent utterances, IVR time included (after answering, if a fact was asked). */
  hangupAfterHeard?: number;
  /** The person hangs up this long after the stream started. */
  hangupAfterMs?: number;
  /**
   * Silence suppression: after each utterance the person says, the carrier sends no frames for this long, and the
   * next frame's timestamp has moved on by it (a real stream omits silent stretches). Long enough (≥750 ms) it
   * leaves a VAD that only counts received audio hanging after speech.
   */
  silentGapMs?: number;
  /** Frames lost in transit: nothing is sent in each window and timestamps jump over it (the gap is visible). */
  timestampGaps?: StreamWindow[];
  /** The stream stalls: nothing is sent in each window and timestamps carry on where they stopped (only the wall clock shows it). */
  noMedia?: StreamWindow[];
  /** How long after the agent stops talking the person answers. Default 300. */
  replyDelayMs?: number;
  /** How long after the stream starts the greeting (or IVR prompt) begins. Default 100. */
  answerDelayMs?: number;
};

/** An agent utterance as the person heard it. Times are ms since the person's stream first started. */
export type HeardUtterance = {
  text: string;
  /** How much of it played: from its first to its last speech byte. */
  playedMs: number;
  /** A `clear` dropped some of it before it played. */
  cut: boolean;
  startMs: number;
  endMs: number;
};

/** What the emulator gives the person: the inbound side of the stream, in the carrier's protocol. */
export interface MediaLink {
  /** One inbound frame; `timestampMs` is the frame's presentation time from the start of the stream. */
  sendMedia(payload: Buffer, timestampMs: number): void;
  /** The person pressed a key (out of band, as carriers report DTMF on the stream). */
  sendDtmf(digit: string): void;
  /** Echo of a server mark: the audio queued before it has played (or was cleared). */
  echoMark(name: string): void;
  /** The person hangs up: the emulator ends the call. */
  hangup(): void;
  /** Audio the person heard, as it plays (for a carrier that also streams the outbound track). */
  played?(bytes: Buffer): void;
}

type Queued = { audio: Buffer } | { mark: string };
type Spoken = { text: string; bytes: Buffer; offset: number };
type Dropout = { fromFrame: number; toFrame: number; timestamps: 'advance' | 'hold' };

const DEFAULT_REPLY_DELAY_MS = 300;
/** Silence that ends an agent utterance, played or not (a queue that ran dry is silence too). */
const UTTERANCE_END_MS = 300;
const KEY_GAP_MS = 200;

export class MediaCallee extends EventEmitter {
  /** Agent utterances heard, in order. */
  readonly heard: HeardUtterance[] = [];
  /** Keys received: DTMF tones detected in the played audio and out-of-band presses the carrier delivered. */
  digits = '';
  /** Keys the person pressed (sent to the server as `dtmf` messages). */
  pressed = '';
  /** Names of the marks echoed, in echo order. */
  readonly marksEchoed: string[] = [];
  /** Everything said on this end of the line (IVR prompts and the person), in order, as each began. */
  readonly said: string[] = [];
  /** Audio played to the person, all of it (speech, tones, silence the server sent). */
  playedMs = 0;
  /** `clear`s received. */
  clears = 0;
  /** The person hung up (as opposed to the call or stream being ended by someone else). */
  hungUp = false;
  /** What happened, for debugging and order assertions: `say:Hello?`, `heard:…`, `mark:m1`, `clear`, `key:2`, … */
  readonly timeline: { atMs: number; event: string }[] = [];

  private link?: MediaLink;
  private clock0?: number;
  private firstStream = true;
  /** The inbound frame on which the line opens (IVR or greeting), until it has. */
  private openingFrame?: number;
  private readonly timers = new Set<NodeJS.Timeout>();

  // inbound
  private streamStart = 0;
  private nextFrame = 0;
  private timestampFrames = 0;
  private frameTimer?: NodeJS.Timeout;
  private dropouts: Dropout[] = [];
  private readonly speaking: Spoken[] = [];

  // outbound playback
  private readonly queue: Queued[] = [];
  private headOffset = 0;
  private runStart?: number;
  private runPlayed = 0;
  private playTimer?: NodeJS.Timeout;
  private playedBytes = 0;
  private block: Buffer[] = [];
  private blockBytes = 0;
  private blockEndAt = 0;
  private utterance?: { chunks: Buffer[]; firstByte: number; lastByte: number; startAt: number; lastSpeechAt: number };
  private readonly dtmf = new DtmfDetector();

  // behaviour
  private ivr?: { menu: IvrMenu; entered: string };
  private personOn = false;
  private bargedIn = false;

  constructor(readonly options: MediaCalleeOptions = {}) {
    super();
    this.setMaxListeners(100); // one per pending waitFor
  }

  /** True while a stream carries this person. */
  get connected(): boolean {
    return this.link !== undefined;
  }

  /** True while this end is talking (an utterance is queued or being sent). */
  get talking(): boolean {
    return this.speaking.length > 0;
  }

  /** Ms since the person's first stream started. */
  now(): number {
    return this.clock0 === undefined ? 0 : performance.now() - this.clock0;
  }

  // ---- called by the emulator ----

  /** A stream starts carrying this person (the carrier has sent `start`). */
  attach(link: MediaLink): void {
    this.detach();
    this.link = link;
    this.streamStart = performance.now();
    this.clock0 ??= this.streamStart;
    this.nextFrame = 0;
    this.timestampFrames = 0;
    this.dropouts = [
      ...(this.options.timestampGaps ?? []).map((w) => window(w, 'advance')),
      ...(this.options.noMedia ?? []).map((w) => window(w, 'hold')),
    ];
    if (this.firstStream) {
      this.firstStream = false;
      const { hangupAfterMs, answerDelayMs = 100 } = this.options;
      if (hangupAfterMs !== undefined) this.after(hangupAfterMs, () => this.hangup());
      this.openingFrame = Math.round(answerDelayMs / FRAME_MS);
    }
    this.log('stream:start');
    this.tick();
  }

  /** The stream has ended: timers stop, what was playing is dropped (its pending marks die with the socket). */
  detach(): void {
    if (!this.link) return;
    this.advance(performance.now());
    this.flushBlock();
    this.finishUtterance(false);
    this.link = undefined;
    clearTimeout(this.frameTimer);
    clearTimeout(this.playTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.headOffset = 0;
    this.runStart = undefined;
    this.speaking.length = 0;
    this.log('stream:end');
    this.emitChange();
  }

  /** Audio from the server, to be played after what is already queued. */
  onMedia(payload: Buffer): void {
    if (!this.link || payload.length === 0) return;
    const now = performance.now();
    this.advance(now);
    this.queue.push({ audio: payload });
    if (this.runStart === undefined) {
      this.runStart = now;
      this.runPlayed = 0;
    }
    this.schedulePlayback(now);
  }

  /** A mark from the server: echoed once everything queued before it has played. */
  onMark(name: string): void {
    if (!this.link) return;
    const now = performance.now();
    this.advance(now);
    if (this.queue.length === 0) this.echo(name);
    else this.queue.push({ mark: name });
    this.schedulePlayback(now);
  }

  /** `clear`: the queue is dropped and every pending mark is echoed at once. */
  onClear(): void {
    if (!this.link) return;
    const now = performance.now();
    this.advance(now);
    this.flushBlock();
    let droppedSpeech = false;
    const marks: string[] = [];
    for (const [i, item] of this.queue.entries()) {
      if ('mark' in item) marks.push(item.mark);
      else droppedSpeech ||= isCodedSpeech(i === 0 ? item.audio.subarray(this.headOffset) : item.audio);
    }
    this.queue.length = 0;
    this.headOffset = 0;
    this.runStart = undefined;
    this.clears++;
    this.log('clear');
    for (const name of marks) this.echo(name);
    this.finishUtterance(droppedSpeech);
    this.schedulePlayback(now);
  }

  /** Keys the carrier delivered out of band (Telnyx send_dtmf), one every `gapMs`. */
  onKeys(digits: string, gapMs = KEY_GAP_MS): void {
    if (!this.link) return;
    let delay = 0;
    for (const key of digits) {
      if (key === 'w' || key === 'W') {
        delay += key === 'w' ? 500 : 1000;
        continue;
      }
      this.after(delay, () => this.key(key, 'out-of-band'));
      delay += gapMs;
    }
  }

  // ---- the person's actions (also for tests to drive by hand) ----

  /** This end says `text` (after whatever it is already saying). */
  say(text: string): void {
    if (!this.link) return;
    this.speaking.push({ text, bytes: encodeSpeech(text), offset: 0 });
    this.emitChange();
  }

  /** The person presses keys: each becomes a `dtmf` message on the stream, one every 200 ms. */
  press(digits: string): void {
    if (!this.link) return;
    [...digits].forEach((digit, i) =>
      this.after(i * KEY_GAP_MS, () => {
        this.pressed += digit;
        this.log(`press:${digit}`);
        this.link?.sendDtmf(digit);
      }),
    );
  }

  /** The person hangs up. */
  hangup(): void {
    if (!this.link || this.hungUp) return;
    this.hungUp = true;
    this.log('hangup');
    const link = this.link;
    this.detach();
    link.hangup();
    this.emitChange();
  }

  /**
   * Resolves with the first truthy value of `cond`, checked now and after every change (something heard, said,
   * echoed, a key, the end of the stream); rejects after `timeoutMs` with the timeline.
   */
  waitFor<T>(cond: (callee: this) => T, timeoutMs = 5000): Promise<NonNullable<T>> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        let value: T;
        try {
          value = cond(this);
        } catch (err) {
          cleanup();
          reject(err);
          return true;
        }
        if (!value) return false;
        cleanup();
        resolve(value as NonNullable<T>);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`callee: condition not met within ${timeoutMs} ms; timeline: ${JSON.stringify(this.timeline)}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('change', check);
      };
      if (!check()) this.on('change', check);
    });
  }

  // ---- inbound frames ----

  /** Sends every frame that is due, then sleeps until the next: frame n goes at start + 20n ms, whatever the timer lag. */
  private tick = (): void => {
    const now = performance.now();
    while (this.link && this.streamStart + this.nextFrame * FRAME_MS <= now) this.sendFrame(this.nextFrame++);
    if (!this.link) return;
    this.frameTimer = setTimeout(this.tick, Math.max(0, this.streamStart + this.nextFrame * FRAME_MS - performance.now()));
  };

  private sendFrame(n: number): void {
    // On the frame schedule, not a timer of its own: the greeting starts on a predictable frame.
    if (n === this.openingFrame) {
      this.openingFrame = undefined;
      this.pickUp();
    }
    const frame = this.nextSpokenFrame(n);
    const dropout = this.dropouts.find((d) => n >= d.fromFrame && n < d.toFrame);
    if (dropout) {
      if (dropout.timestamps === 'advance') this.timestampFrames++;
      return;
    }
    this.link!.sendMedia(frame, this.timestampFrames++ * FRAME_MS);
  }

  /** The next 20 ms of this end's voice: coded speech while an utterance lasts (padded with silence), else silence. */
  private nextSpokenFrame(n: number): Buffer {
    const frame = Buffer.alloc(FRAME_BYTES, SILENCE);
    const current = this.speaking[0];
    if (!current) return frame;
    if (current.offset === 0) {
      this.said.push(current.text);
      this.log(`say:${current.text}`);
      this.emitChange();
    }
    const end = Math.min(current.bytes.length, current.offset + FRAME_BYTES);
    current.bytes.copy(frame, 0, current.offset, end);
    current.offset = end;
    if (end === current.bytes.length) {
      this.speaking.shift();
      const gap = this.options.silentGapMs;
      if (gap && this.speaking.length === 0) this.dropouts.push({ fromFrame: n + 1, toFrame: n + 1 + Math.round(gap / FRAME_MS), timestamps: 'advance' });
      this.emitChange();
    }
    return frame;
  }

  // ---- outbound playback ----

  /** Plays everything due by `now`: audio at 8 bytes/ms from when the current run of audio began, marks as reached. */
  private advance(now: number): void {
    if (this.runStart === undefined) return this.checkUtteranceEnd(now);
    let budget = Math.floor((now - this.runStart) * BYTES_PER_MS) - this.runPlayed;
    while (this.queue.length > 0) {
      const head = this.queue[0];
      if ('mark' in head) {
        this.queue.shift();
        this.echo(head.mark);
        continue;
      }
      const take = Math.min(head.audio.length - this.headOffset, budget);
      if (take > 0) {
        this.play(head.audio.subarray(this.headOffset, this.headOffset + take));
        this.headOffset += take;
        budget -= take;
      }
      if (this.headOffset < head.audio.length) break;
      this.queue.shift();
      this.headOffset = 0;
    }
    if (this.queue.length === 0) {
      // Ran dry: the line goes quiet until more audio comes. An underrun is silence, so an utterance sent in real
      // time is not split by a late packet; it ends once the silence has lasted UTTERANCE_END_MS.
      this.flushBlock();
      this.runStart = undefined;
    }
    this.checkUtteranceEnd(now);
  }

  private schedulePlayback(now: number): void {
    clearTimeout(this.playTimer);
    this.playTimer = undefined;
    if (!this.link) return;
    let due: number | undefined;
    if (this.runStart !== undefined) {
      let ahead = 0;
      for (const [i, item] of this.queue.entries()) {
        if ('mark' in item) break;
        ahead += item.audio.length - (i === 0 ? this.headOffset : 0);
      }
      // The next mark or the end of the queue, and at least every frame (barge-in and utterance ends are checked as it plays).
      due = Math.min(this.runStart + (this.runPlayed + ahead) / BYTES_PER_MS, now + FRAME_MS);
    } else if (this.utterance) {
      due = this.utterance.lastSpeechAt + UTTERANCE_END_MS;
    }
    if (due === undefined) return;
    this.playTimer = setTimeout(() => {
      const at = performance.now();
      this.advance(at);
      this.schedulePlayback(at);
    }, Math.max(0, Math.ceil(due - now)));
  }

  /** Bytes that have just played: counted, and analysed in 20 ms blocks of the played stream. */
  private play(bytes: Buffer): void {
    const runStart = this.runStart!;
    let offset = this.runPlayed; // where in the current run these bytes start
    this.runPlayed += bytes.length;
    this.playedMs += bytes.length / BYTES_PER_MS;
    this.link?.played?.(bytes);
    let rest = bytes;
    while (rest.length > 0) {
      const take = Math.min(rest.length, FRAME_BYTES - this.blockBytes);
      this.block.push(rest.subarray(0, take));
      this.blockBytes += take;
      rest = rest.subarray(take);
      offset += take;
      // When the block's last byte played, on the playback clock (not when the timer that got here ran).
      this.blockEndAt = runStart + offset / BYTES_PER_MS;
      if (this.blockBytes === FRAME_BYTES) this.flushBlock();
    }
  }

  /** Analyses the block of played audio gathered so far (a full 20 ms, or what played before a drain or clear). */
  private flushBlock(): void {
    if (this.blockBytes === 0) return;
    const block = Buffer.concat(this.block);
    const startByte = this.playedBytes; // offset of the block in everything played
    this.playedBytes += block.length;
    this.block = [];
    this.blockBytes = 0;
    const kind = classify(block);
    const key = this.dtmf.feed(kind === 'audio' && block.length === FRAME_BYTES ? block : undefined);
    if (key) this.key(key, 'tone');
    if (kind !== 'speech') return;
    const first = block.findIndex(isTextByte);
    let last = block.length - 1;
    while (!isTextByte(block[last]!)) last--;
    const lastSpeechAt = this.blockEndAt - (block.length - 1 - last) / BYTES_PER_MS;
    if (!this.utterance) {
      this.utterance = { chunks: [], firstByte: startByte + first, lastByte: 0, startAt: this.blockEndAt - (block.length - first) / BYTES_PER_MS, lastSpeechAt };
      this.log('agent:start');
    }
    this.utterance.chunks.push(block);
    this.utterance.lastByte = startByte + last;
    this.utterance.lastSpeechAt = lastSpeechAt;
    this.checkBargeIn();
  }

  private checkUtteranceEnd(now: number): void {
    if (this.utterance && now - this.utterance.lastSpeechAt >= UTTERANCE_END_MS) this.finishUtterance(false);
  }

  private finishUtterance(cut: boolean): void {
    const u = this.utterance;
    if (!u) return;
    this.utterance = undefined;
    const audio = Buffer.concat(u.chunks);
    const heard: HeardUtterance = {
      text: decodeSpeech(audio).join(' '),
      playedMs: (u.lastByte - u.firstByte + 1) / BYTES_PER_MS,
      cut,
      startMs: u.startAt - this.clock0!,
      endMs: u.lastSpeechAt - this.clock0!,
    };
    this.heard.push(heard);
    this.log(`heard:${heard.text}${cut ? ' (cut)' : ''}`);
    this.emit('heard', heard);
    this.emitChange();
    this.react(heard, u.lastSpeechAt);
  }

  private checkBargeIn(): void {
    const barge = this.options.bargeIn;
    if (!barge || this.bargedIn || !this.personOn || !this.utterance) return;
    if ((this.playedBytes - this.utterance.firstByte) / BYTES_PER_MS < barge.afterAgentMs) return;
    this.bargedIn = true;
    this.log('barge-in');
    this.say(barge.say);
  }

  private echo(name: string): void {
    this.marksEchoed.push(name);
    this.log(`mark:${name}`);
    this.link?.echoMark(name);
    this.emitChange();
  }

  // ---- behaviour ----

  /** The line opens: the IVR starts its menu, or the person comes on and greets. */
  private pickUp(): void {
    const { ivr, greeting } = this.options;
    if (ivr) {
      this.ivr = { menu: ivr, entered: '' };
      this.say(ivr.prompt);
    } else {
      this.personOn = true;
      if (greeting) this.say(greeting);
    }
  }

  /** What the person does about an utterance they heard: answer facts asked, hang up when they have heard enough. */
  private react(heard: HeardUtterance, agentStoppedAt: number): void {
    const { facts = {}, hangupAfterHeard, replyDelayMs = DEFAULT_REPLY_DELAY_MS } = this.options;
    const wait = Math.max(0, agentStoppedAt + replyDelayMs - performance.now());
    const answers = this.personOn ? Object.entries(facts).filter(([key]) => mentions(heard.text, key)).map(([, value]) => value) : [];
    if (answers.length > 0) this.after(wait, () => this.say(answers.join(' ')));
    if (hangupAfterHeard !== undefined && this.heard.length >= hangupAfterHeard) {
      this.after(wait, () => this.whenQuiet(() => this.hangup()));
    }
  }

  /** A key reached this end, as a tone in the played audio or out of band from the carrier. */
  private key(digit: string, how: 'tone' | 'out-of-band'): void {
    this.digits += digit;
    this.log(`key:${digit} (${how})`);
    this.emit('digit', digit);
    this.emitChange();
    const ivr = this.ivr;
    if (!ivr) return;
    ivr.entered += digit;
    if (ivr.entered.length < ivr.menu.digit.length) return;
    const chosen = ivr.entered === ivr.menu.digit;
    ivr.entered = '';
    this.speaking.length = 0; // a key press cuts the menu short, as on a real IVR
    if (!chosen) return this.say(`Sorry, that is not a valid choice. ${ivr.menu.prompt}`);
    if (ivr.menu.then) {
      ivr.menu = ivr.menu.then;
      return this.say(ivr.menu.prompt);
    }
    this.ivr = undefined;
    this.personOn = true;
    this.say(this.options.greeting ?? 'Hello?');
  }

  /** Runs `step` once this end has finished what it is saying. */
  private whenQuiet(step: () => void): void {
    if (this.speaking.length === 0) return step();
    this.after(FRAME_MS, () => this.whenQuiet(step));
  }

  private after(ms: number, step: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      step();
    }, ms);
    this.timers.add(timer);
  }

  private log(event: string): void {
    this.timeline.push({ atMs: Math.round(this.now()), event });
  }

  private emitChange(): void {
    this.emit('change');
  }
}

function window(w: StreamWindow, timestamps: Dropout['timestamps']): Dropout {
  const fromFrame = Math.round(w.atMs / FRAME_MS);
  return { fromFrame, toFrame: fromFrame + Math.round(w.ms / FRAME_MS), timestamps };
}

/** True when `text` mentions every word of a fact's key (`price_quote` → "price…" and "quote…"). */
export function mentions(text: string, key: string): boolean {
  const words = key.toLowerCase().split(/[_\s-]+/).filter(Boolean);
  const lower = text.toLowerCase();
  return words.length > 0 && words.every((w) => new RegExp(`\\b${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`).test(lower));
}

/** Coded speech only (no byte of real audio): speech-code text bytes, with or without silence around them. */
function isCodedSpeech(bytes: Buffer): boolean {
  return isSpeech(bytes) && !hasRealAudio(bytes);
}

/** A byte of speech-code text (STX, ETX or printable ASCII). */
function isTextByte(b: number): boolean {
  return b >= 0x02 && b < 0x7f;
}

/** Bytes ≥0x80 other than 0xFF only occur in real audio (tones, voices), never in coded speech or silence. */
function hasRealAudio(bytes: Buffer): boolean {
  for (const b of bytes) if (b >= 0x80 && b !== SILENCE) return true;
  return false;
}

function classify(block: Buffer): 'audio' | 'speech' | 'silence' {
  if (hasRealAudio(block)) return 'audio';
  return isSpeech(block) ? 'speech' : 'silence';
}

// ---- DTMF ----

const LOW = [697, 770, 852, 941];
const HIGH = [1209, 1336, 1477, 1633];
const KEYS = ['123A', '456B', '789C', '*0#D'];
const SAMPLE_RATE = 8000;

/** G.711 μ-law byte → linear 16-bit sample. */
export function mulawToLinear(u: number): number {
  const v = ~u & 0xff;
  const t = ((((v & 0x0f) << 3) + 0x84) << ((v & 0x70) >> 4)) - 0x84;
  return v & 0x80 ? -t : t;
}

const DECODE = Int16Array.from({ length: 256 }, (_, u) => mulawToLinear(u));

/**
 * Finds DTMF key presses in played audio, one 20 ms block at a time: Goertzel power at the eight DTMF frequencies;
 * a block holds a key when one low and one high tone carry most of its energy and each clearly beats the others
 * of its group. A key held for two blocks (40 ms) is a press, reported once; two blocks without it release it.
 */
export class DtmfDetector {
  private candidate?: string;
  private held = 0;
  private pressedKey?: string;
  private missing = 0;

  /** Feeds one block (undefined: a block with no real audio, or too short to tell). Returns a newly pressed key. */
  feed(block: Buffer | undefined): string | undefined {
    const key = block ? detectKey(block) : undefined;
    if (this.pressedKey !== undefined) {
      if (key === this.pressedKey) {
        this.missing = 0;
        return undefined;
      }
      if (++this.missing < 2) return undefined; // one odd block does not release a key
      this.pressedKey = undefined;
      this.missing = 0;
    }
    if (!key) {
      this.candidate = undefined;
      this.held = 0;
      return undefined;
    }
    this.held = key === this.candidate ? this.held + 1 : 1;
    this.candidate = key;
    if (this.held < 2) return undefined;
    this.pressedKey = key;
    this.candidate = undefined;
    this.held = 0;
    return key;
  }
}

function detectKey(block: Buffer): string | undefined {
  const samples = Array.from(block, (b) => DECODE[b]! / 32768);
  let energy = 0;
  for (const s of samples) energy += s * s;
  if (energy / samples.length < 1e-4) return undefined; // quieter than -40 dBFS
  const scale = 2 / (samples.length * energy); // a pure tone's power, scaled, is its share of the energy
  const low = LOW.map((f) => goertzel(samples, f) * scale);
  const high = HIGH.map((f) => goertzel(samples, f) * scale);
  const row = strongest(low);
  const col = strongest(high);
  if (row === undefined || col === undefined) return undefined;
  if (low[row]! + high[col]! < 0.7 || low[row]! < 0.1 || high[col]! < 0.1) return undefined;
  return KEYS[row]![col];
}

/** The index of the clearly strongest power (4× any other), if there is one. */
function strongest(powers: number[]): number | undefined {
  let best = 0;
  for (let i = 1; i < powers.length; i++) if (powers[i]! > powers[best]!) best = i;
  return powers.every((p, i) => i === best || p * 4 < powers[best]!) ? best : undefined;
}

function goertzel(samples: number[], frequency: number): number {
  const coeff = 2 * Math.cos((2 * Math.PI * frequency) / SAMPLE_RATE);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}
