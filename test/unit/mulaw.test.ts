import { describe, expect, it } from 'vitest';
import { base64AudioMs, decodeSample, dtmfTones, encodeSample } from '../../src/voice/mulaw.js';
import { DtmfDetector } from '../fakes/media-callee.js';

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

describe('DTMF tones', () => {
  it('are heard as the right keys by an IVR-style Goertzel detector, each 100 ms of tone then 100 ms of silence', () => {
    const keys = '2#9*0';
    const audio = dtmfTones(keys);
    expect(audio.length).toBe(keys.length * 200 * 8);
    const detector = new DtmfDetector();
    let heard = '';
    for (let at = 0; at < audio.length; at += 160) heard += detector.feed(audio.subarray(at, at + 160)) ?? '';
    expect(heard).toBe(keys);
    for (let k = 0; k < keys.length; k++) expect([...audio.subarray(k * 1600 + 800, (k + 1) * 1600)].every((b) => b === 0xff)).toBe(true);
  });

  it('pauses half a second for w, and refuses characters that are not keys', () => {
    expect(dtmfTones('w')).toEqual(Buffer.alloc(4000, 0xff));
    expect(() => dtmfTones('1x')).toThrow(/not a DTMF key/);
  });
});
