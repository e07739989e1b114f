import type { RubricRule, StopWhen } from './spec.js';

/** One answered call as the rubric sees it: its fields, and the target's place in the request (for ties). */
export type Scorable = { index: number; fields: Record<string, unknown> };
export type Ranked<T extends Scorable> = { rank: number; score: number; max_score: number; reasons: string[]; row: T };

const YES = /^(yes|y|yeah|yep|true|sure|available|ok|okay|of course|definitely|1)\b/i;
const NO = /^(no|n|nope|false|not|unavailable|none|never|0)\b/i;

/** "$1,250.50 per square" → 1250.5; "2026-12-10" → that day (ms); anything without a number → null. */
export function numericValue(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return ms;
  }
  const m = /-?\d[\d,]*(?:\.\d+)?/.exec(text);
  return m ? Number(m[0].replace(/,/g, '')) : null;
}

/** A yes or a no, or null when the answer is neither. */
export function yesNo(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  return YES.test(text) ? true : NO.test(text) ? false : null;
}

/** A field's answer; field names are the client's, so only the row's own keys count (never `constructor` and kin). */
export const answerOf = (fields: Record<string, unknown>, field: string): unknown => (Object.hasOwn(fields, field) ? fields[field] : undefined);

const present = (value: unknown): boolean => value !== null && value !== undefined && String(value).trim() !== '';
const shown = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));
const points = (n: number): string => (Math.round(n * 100) / 100).toFixed(2);

/**
 * Scores every row by the rubric and ranks them, best first (ties keep the targets' order). Lower/higher are scaled
 * between the worst and the best answer given (all equal: full weight); yes/no/present score the full weight or
 * nothing. A missing or unreadable answer scores zero, and says so.
 */
export function rank<T extends Scorable>(rows: readonly T[], rubric: readonly RubricRule[]): Ranked<T>[] {
  const ranges = new Map<string, { min: number; max: number }>();
  for (const r of rubric) {
    if (r.prefer !== 'lower' && r.prefer !== 'higher') continue;
    const values = rows.map((row) => numericValue(answerOf(row.fields, r.field))).filter((v): v is number => v !== null);
    if (values.length) ranges.set(r.field, { min: Math.min(...values), max: Math.max(...values) });
  }
  const maxScore = rubric.reduce((sum, r) => sum + r.weight, 0);
  const scored = rows.map((row) => {
    let score = 0;
    const reasons = rubric.map((r) => {
      const value = answerOf(row.fields, r.field);
      if (!present(value)) return `${r.field}: missing (0)`;
      let got: number;
      let why: string;
      if (r.prefer === 'present') {
        got = r.weight;
        why = 'given';
      } else if (r.prefer === 'yes' || r.prefer === 'no') {
        const yes = yesNo(value);
        if (yes === null) return `${r.field} ${shown(value)}: not a yes or a no (0)`;
        got = yes === (r.prefer === 'yes') ? r.weight : 0;
        why = got ? `${r.prefer}, as preferred` : `not ${r.prefer}`;
      } else {
        const n = numericValue(value);
        const range = ranges.get(r.field);
        if (n === null || !range) return `${r.field} ${shown(value)}: no number to compare (0)`;
        const span = range.max - range.min;
        const share = span === 0 ? 1 : r.prefer === 'lower' ? (range.max - n) / span : (n - range.min) / span;
        got = r.weight * share;
        const best = r.prefer === 'lower' ? range.min : range.max;
        why = n === best ? `the ${r.prefer === 'lower' ? 'lowest' : 'highest'}` : `${r.prefer} is better`;
      }
      score += got;
      return `${r.field} ${shown(value)}: ${why} (+${points(got)} of ${points(r.weight)})`;
    });
    return { row, score: Math.round(score * 1000) / 1000, reasons };
  });
  scored.sort((a, b) => b.score - a.score || a.row.index - b.row.index);
  return scored.map((s, i) => ({ rank: i + 1, score: s.score, max_score: maxScore, reasons: s.reasons, row: s.row }));
}

/** Whether a call's fields say the campaign has found what it looks for. */
export function matches(stop: StopWhen, fields: Record<string, unknown>): boolean {
  const value = answerOf(fields, stop.field);
  if (stop.present) return present(value);
  if (!present(value)) return false;
  const want = stop.equals;
  if (typeof want === 'boolean') return yesNo(value) === want;
  if (typeof want === 'number') return numericValue(value) === want;
  const norm = (v: unknown) => String(v).trim().toLowerCase().replace(/[.!]+$/, '');
  // "yes" matches "Yes, we can start Monday" the way a person would read it.
  return norm(value) === norm(want) || (yesNo(want) !== null && yesNo(value) === yesNo(want));
}
