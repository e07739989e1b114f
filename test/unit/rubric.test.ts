import { describe, expect, it } from 'vitest';
import { matches, numericValue, rank, yesNo } from '../../src/campaigns/rubric.js';

describe('reading answers', () => {
  it('finds the number in what people say, and dates as days', () => {
    expect(numericValue('$1,250.50 per square')).toBe(1250.5);
    expect(numericValue('about 450')).toBe(450);
    expect(numericValue(12)).toBe(12);
    expect(numericValue('2026-12-10')).toBe(Date.parse('2026-12-10'));
    expect(numericValue('next Monday')).toBeNull();
    expect(numericValue(null)).toBeNull();
  });

  it('reads yes and no the way a person says them', () => {
    expect(yesNo('Yes, we can start Monday')).toBe(true);
    expect(yesNo('available')).toBe(true);
    expect(yesNo('no')).toBe(false);
    expect(yesNo('Not until March')).toBe(false);
    expect(yesNo('maybe')).toBeNull();
  });
});

describe('rank', () => {
  const rubric = [
    { field: 'price', weight: 2, prefer: 'lower' as const },
    { field: 'rating', weight: 1, prefer: 'higher' as const },
    { field: 'insured', weight: 1, prefer: 'yes' as const },
    { field: 'license', weight: 0.5, prefer: 'present' as const },
  ];

  it('scales lower/higher between the worst and best answer, scores yes/present in full, and explains each part', () => {
    const ranked = rank(
      [
        { index: 0, fields: { price: '$500', rating: '4', insured: 'yes', license: 'CA-123' } },
        { index: 1, fields: { price: '$400', rating: '5', insured: 'no', license: null } },
        { index: 2, fields: { price: '$450', rating: '3', insured: 'yes' } },
      ],
      rubric,
    );
    expect(ranked.map((r) => [r.row.index, r.score])).toEqual([
      [1, 3],
      [0, 2],
      [2, 2],
    ]);
    expect(ranked[0]!.reasons).toEqual([
      'price $400: the lowest (+2.00 of 2.00)',
      'rating 5: the highest (+1.00 of 1.00)',
      'insured no: not yes (+0.00 of 1.00)',
      'license: missing (0)',
    ]);
    expect(ranked[1]!.reasons[0]).toBe('price $500: lower is better (+0.00 of 2.00)');
    expect(ranked.every((r) => r.max_score === 4.5)).toBe(true);
    // A tie keeps the targets' order.
    expect(ranked.map((r) => r.rank)).toEqual([1, 2, 3]);
  });

  it('scores an unreadable answer zero and says why; all-equal answers earn the full weight', () => {
    const ranked = rank(
      [
        { index: 0, fields: { price: 'call us', insured: 'perhaps' } },
        { index: 1, fields: { price: '300', insured: 'yes' } },
      ],
      rubric.slice(0, 3),
    );
    expect(ranked[0]!.row.index).toBe(1);
    expect(ranked[0]!.reasons[0]).toBe('price 300: the lowest (+2.00 of 2.00)');
    expect(ranked[1]!.reasons).toEqual(['price call us: no number to compare (0)', 'rating: missing (0)', 'insured perhaps: not a yes or a no (0)']);
  });
});

describe('stop_when', () => {
  it('matches equal values as a person would, or any given value', () => {
    expect(matches({ field: 'available', equals: 'yes' }, { available: 'Yes, Monday works.' })).toBe(true);
    expect(matches({ field: 'available', equals: 'yes' }, { available: 'no' })).toBe(false);
    expect(matches({ field: 'city', equals: 'Austin' }, { city: 'austin.' })).toBe(true);
    expect(matches({ field: 'city', equals: 'Austin' }, { city: 'Dallas' })).toBe(false);
    expect(matches({ field: 'slots', equals: 2 }, { slots: 'two, no: 2 slots' })).toBe(true);
    expect(matches({ field: 'quote', present: true }, { quote: '$400' })).toBe(true);
    expect(matches({ field: 'quote', present: true }, { quote: null })).toBe(false);
    expect(matches({ field: 'quote', present: true }, {})).toBe(false);
  });
});

describe('field names are the client’s', () => {
  it('reads only a row’s own answers, never what every object inherits', () => {
    expect(matches({ field: 'constructor', present: true }, {})).toBe(false);
    expect(rank([{ index: 0, fields: {} }], [{ field: 'toString', weight: 1, prefer: 'present' }])[0]!.reasons).toEqual(['toString: missing (0)']);
  });
});
