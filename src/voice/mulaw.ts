/**
 * G.711 μ-law, the codec both carriers stream and the realtime model speaks (`audio/pcmu`): 8 kHz, one byte per
 * sample, 8 bytes per millisecond. The bridge never transcodes audio; this module exists for the few sounds
 * Switchboard makes itself (DTMF tones, silence) and for measuring audio by its byte count.
 */

export const SAMPLE_RATE = 8000;
export const BYTES_PER_MS = SAMPLE_RATE / 1000;
/** The μ-law code of a zero sample. */
export const MULAW_SILENCE = 0xff;

const BIAS = 0x84;
const CLIP = 32635;

/** One 16-bit linear sample to its μ-law byte (the classic G.711 segment/mantissa encoding). */
export function encodeSample(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  let sign = 0;
  if (s < 0) {
    s = -s;
    sign = 0x80;
  }
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** One μ-law byte to its 16-bit linear sample. */
export function decodeSample(code: number): number {
  const u = ~code & 0xff;
  const t = ((((u & 0x0f) << 3) + BIAS) << ((u & 0x70) >> 4)) - BIAS;
  return u & 0x80 ? 0 - t : t; // 0 - t: "negative zero" (0x7F) decodes to 0, not -0
}

/** Milliseconds of audio in `base64` μ-law, from its length alone (no decoding). */
export function base64AudioMs(base64: string): number {
  return base64Bytes(base64) / BYTES_PER_MS;
}

export function base64Bytes(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length * 3) / 4 - padding;
}

/** The row and column frequencies (Hz) of each DTMF key (ITU-T Q.23). */
export const DTMF_FREQUENCIES: Readonly<Record<string, readonly [number, number]>> = {
  '1': [697, 1209], '2': [697, 1336], '3': [697, 1477], A: [697, 1633],
  '4': [770, 1209], '5': [770, 1336], '6': [770, 1477], B: [770, 1633],
  '7': [852, 1209], '8': [852, 1336], '9': [852, 1477], C: [852, 1633],
  '*': [941, 1209], '0': [941, 1336], '#': [941, 1477], D: [941, 1633],
};

export const DTMF_TONE_MS = 100;
export const DTMF_GAP_MS = 100;
/** Each tone at about -6 dBFS, so the pair stays clear of clipping and well above any IVR's detection floor. */
const TONE_AMPLITUDE = 0.35 * 32767;

/**
 * The keys as in-band tones in μ-law: 100 ms of each key's two frequencies then 100 ms of silence, the timing
 * every IVR accepts (Q.24 asks for at least 40 ms of each); `w` is a half-second pause. Other characters are refused.
 */
export function dtmfTones(digits: string): Buffer {
  const parts = [...digits.toUpperCase()].map((key) => {
    if (key === 'W') return Buffer.alloc(500 * BYTES_PER_MS, MULAW_SILENCE);
    const pair = DTMF_FREQUENCIES[key];
    if (!pair) throw new RangeError(`not a DTMF key: ${JSON.stringify(key)}`);
    const part = Buffer.alloc((DTMF_TONE_MS + DTMF_GAP_MS) * BYTES_PER_MS, MULAW_SILENCE);
    for (let i = 0; i < DTMF_TONE_MS * BYTES_PER_MS; i++) {
      const t = i / SAMPLE_RATE;
      part[i] = encodeSample(TONE_AMPLITUDE * (Math.sin(2 * Math.PI * pair[0] * t) + Math.sin(2 * Math.PI * pair[1] * t)));
    }
    return part;
  });
  return Buffer.concat(parts);
}

/** Keys a person can press, for validating what a model asks for: 0-9, *, #, A-D, and `w` (a half-second pause). */
export const DTMF_DIGITS = /^[0-9*#A-Da-dw]{1,32}$/;
