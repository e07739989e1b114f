/**
 * How the fakes "speak" to each other through real μ-law audio. There is no speech recogniser offline, so a
 * simulated voice is text carried in the audio bytes: an utterance is `STX text ETX` in ASCII, repeated to fill
 * its duration (8 bytes per millisecond, as PCMU), and silence is 0xFF. Every text byte is below 0x7F, so a
 * frame of spoken text is never silence (0xFF, or 0x7F "negative zero") and never looks like a DTMF tone (whose
 * samples use the whole byte range). Switchboard itself never looks inside: it passes these bytes through
 * untouched, exactly as it must pass real audio.
 *
 * Used by the fake realtime model (it "transcribes" what it is sent and "speaks" its replies) and by the
 * carrier emulators' simulated people (they hear the agent and talk back).
 */

export const BYTES_PER_MS = 8;
export const FRAME_BYTES = 160; // 20 ms
export const SILENCE = 0xff;
const STX = 0x02;
const ETX = 0x03;

/** Spoken words, a little faster than people talk: 60 ms per character, at least 400 ms. */
export function speechMs(text: string): number {
  return Math.max(400, text.length * 60);
}

/** The μ-law bytes of `text` spoken for `ms` milliseconds (default speechMs(text)). */
export function encodeSpeech(text: string, ms = speechMs(text)): Buffer {
  const unit = Buffer.from([STX, ...Buffer.from(text.replace(/[^\x20-\x7e]/g, '?'), 'latin1'), ETX]);
  const out = Buffer.alloc(Math.max(unit.length, Math.round(ms * BYTES_PER_MS)));
  for (let i = 0; i < out.length; i += unit.length) unit.copy(out, i, 0, Math.min(unit.length, out.length - i));
  return out;
}

export function silence(ms: number): Buffer {
  return Buffer.alloc(Math.round(ms * BYTES_PER_MS), SILENCE);
}

/** True when a chunk of μ-law carries coded speech (any text byte). */
export function isSpeech(bytes: Buffer): boolean {
  for (const b of bytes) if (b >= 0x02 && b < 0x7f) return true;
  return false;
}

/**
 * The utterances in a stretch of received audio, in order: every complete `STX text ETX` whose text differs from
 * the one before it (repeats of one utterance fill its duration). A stretch cut off before its first ETX yields
 * the part heard so far, marked with a trailing "…" — what a listener heard of a sentence that was cut.
 */
export function decodeSpeech(bytes: Buffer): string[] {
  const out: string[] = [];
  let start = -1;
  let last: string | undefined;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === STX) start = i + 1;
    else if (b === ETX && start >= 0) {
      const text = bytes.subarray(start, i).toString('latin1');
      if (text !== last) out.push(text);
      last = text;
      start = -1;
    }
  }
  if (out.length === 0 && start >= 0) {
    let end = start;
    while (end < bytes.length && bytes[end]! >= 0x20 && bytes[end]! < 0x7f) end++;
    if (end > start) out.push(`${bytes.subarray(start, end).toString('latin1')}…`);
  }
  return out;
}
