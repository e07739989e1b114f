import { describe, expect, it } from 'vitest';
import { Playback } from '../../src/voice/playback.js';

const ms = (n: number) => Buffer.alloc(n * 8).toString('base64');

describe('mark-driven playback tracking', () => {
  it('counts an item played only as far as the carrier echoed its marks', () => {
    const p = new Playback();
    const m1 = p.sent('item_a', ms(100))!;
    const m2 = p.sent('item_a', ms(100))!;
    expect(p.playing).toBe(true);
    expect(p.echoed(m1)).toBeUndefined();
    expect(p.progress('item_a')).toEqual({ sentMs: 200, playedMs: 100 });
    expect(p.echoed(m2)).toBe('item_a');
    expect(p.playing).toBe(false);
  });

  it('cuts an interrupted item at the last acknowledged mark, never past what was sent, and ignores echoes of cleared marks', () => {
    const p = new Playback();
    const m1 = p.sent('item_a', ms(120))!;
    const m2 = p.sent('item_a', ms(120))!;
    p.sent('item_b', ms(80));
    const [m3] = p.flush();
    p.echoed(m1);
    expect(p.interrupt()).toEqual([
      { itemId: 'item_a', audioEndMs: 120, sentMs: 240 },
      { itemId: 'item_b', audioEndMs: 0, sentMs: 80 },
    ]);
    // The carrier echoes what it cleared; none of it was heard.
    expect(p.echoed(m2)).toBeUndefined();
    expect(p.echoed(m3!)).toBeUndefined();
    expect(p.progress('item_a')).toEqual({ sentMs: 120, playedMs: 120 });
    expect(p.playing).toBe(false);
  });

  it('marks at least every 100 ms of audio and at the end of an item, not after every chunk', () => {
    const p = new Playback();
    const marks = [p.sent('item_a', ms(40)), p.sent('item_a', ms(40)), p.sent('item_a', ms(40)), p.sent('item_a', ms(40))];
    expect(marks.map(Boolean)).toEqual([false, false, true, false]);
    const [end] = p.flush();
    expect(end).toMatch(/^item_a:160:/);
    p.echoed(marks[2]!);
    expect(p.playing).toBe(true);
    expect(p.echoed(end!)).toBe('item_a');
    expect(p.playing).toBe(false);
  });

  it('counts the first item as playing even before its first echo (it was being heard)', () => {
    const p = new Playback();
    p.sent('item_a', ms(300));
    expect(p.interrupt()).toEqual([{ itemId: 'item_a', audioEndMs: 0, sentMs: 300 }]);
  });

  it('names marks per item and generation, so a new generation never matches an old echo', () => {
    const p = new Playback();
    const before = p.sent('item_a', ms(100));
    p.interrupt();
    const after = p.sent('item_c', ms(100));
    expect(before).toMatch(/^item_a:100:g0:m\d+$/);
    expect(after).toMatch(/^item_c:100:g1:m\d+$/);
  });
});
