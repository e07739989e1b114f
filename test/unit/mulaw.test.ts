import { describe, expect, it } from 'vitest';
import { base64AudioMs, decodeSample, dtmfTones, DTMF_FREQUENCIES, encodeSample } from '../../src/voice/mulaw.js';

describe('μ-law', () => {
  it('encodes and decodes the G.711 test vectors', () => {
    const vectors: [number, number][] = [
      [0, 0xff], [-1, 0x7f], [100, 0xf2], [-100, 0x72], [1000, 0xce], [-1000, 0x4e],
      [8000, 0xa0], [-8000, 0x20], [32767, 0x80], [-32768, 0x00],
    ];
    for (const [sample, code] of vectors) expect(encodeSample(sample), `encode ${sample}`).toBe(code);
    expect([0x00, 0x80, 0xff, 0x7f].map(decodeSample)).toEqual([-32124, 32124, 0, 0]);
  });

  it('round-trips every 16-bit sample within one quantisation step (at most 1024 in the top segment)', () => {
    let worst = 0;
    for (let s = -32768; s <= 32767; s++) worst = Math.max(worst, Math.abs(decodeSample(encodeSample(s)) - Math.max(-32124, Math.min(32124, s))));
    expect(worst).toBeLessThanOrEqual(512);
  });

  it('measures base64 audio by its length: 160 bytes are 20 ms', () => {
    expect(base64AudioMs(Buffer.alloc(160).toString('base64'))).toBe(20);
    expect(base64AudioMs(Buffer.alloc(161).toString('base64'))).toBeCloseTo(20.125);
  });
});

/** Energy at `freq` in a block of linear samples (Goertzel), the way an IVR listens for keys. */
function goertzel(samples: number[], freq: number): number {
  const k = 2 * Math.cos((2 * Math.PI * freq) / 8000);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s0 = x + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - k * s1 * s2;
}

describe('DTMF tones', () => {
  it('plays each key as its row and column frequencies for 100 ms, then 100 ms of silence', () => {
    const audio = dtmfTones('2#');
    expect(audio.length).toBe(2 * 200 * 8);
    const all = Object.values(DTMF_FREQUENCIES).flat();
    const freqs = [...new Set(all)];
    for (const [index, key] of ['2', '#'].entries()) {
      const tone = [...audio.subarray(index * 1600, index * 1600 + 800)].map(decodeSample);
      const energies = freqs.map((f) => [f, goertzel(tone, f)] as const).sort((a, b) => b[1] - a[1]);
      expect(energies.slice(0, 2).map(([f]) => f).sort()).toEqual([...DTMF_FREQUENCIES[key]!].sort());
      // Well separated from the third strongest: no key is ambiguous.
      expect(energies[1]![1] / energies[2]![1]).toBeGreaterThan(20);
      expect([...audio.subarray(index * 1600 + 800, (index + 1) * 1600)].every((b) => b === 0xff)).toBe(true);
    }
  });

  it('refuses characters that are not keys', () => {
    expect(() => dtmfTones('1x')).toThrow(/not a DTMF key/);
  });
});
