import type { Store } from '../store/store.js';

export type ContactKind = 'call' | 'sms';
export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * When one more contact may go out under a cap of N per rolling 24 h, at or after `atMs`, given the time of the
 * N-th latest contact in the 24 h before `atMs` (undefined: fewer than N were made): `atMs` itself while under the
 * cap, else the moment that contact is 24 h old and one more fits.
 */
export function capFreeAt(nthLatest: number | undefined, atMs: number): number {
  return nthLatest === undefined ? atMs : Math.max(atMs, nthLatest + DAY_MS);
}

/**
 * Every call attempt dialed and every SMS handed to the carrier, by number and time on the guardrails' clock: what
 * the per-number daily caps count, across missions. Written in the transaction that dispatches the work.
 */
export class ContactLog {
  constructor(private readonly store: Store) {}

  record(kind: ContactKind, number: string, atMs: number): void {
    this.store.sql('INSERT INTO contact_log (number, kind, at_ms) VALUES (?, ?, ?)').run(number, kind, atMs);
  }

  /** The time of the `n`-th latest contact of `kind` with `number` after `sinceMs`, if there were that many: one indexed row. */
  nthLatest(kind: ContactKind, number: string, sinceMs: number, n: number): number | undefined {
    const row = this.store.sql('SELECT at_ms FROM contact_log WHERE number = ? AND kind = ? AND at_ms > ? ORDER BY at_ms DESC LIMIT 1 OFFSET ?').get(number, kind, sinceMs, n - 1) as
      | { at_ms: number }
      | undefined;
    return row?.at_ms;
  }

  count(kind: ContactKind, number: string, sinceMs: number): number {
    return (this.store.sql('SELECT count(*) AS n FROM contact_log WHERE number = ? AND kind = ? AND at_ms > ?').get(number, kind, sinceMs) as { n: number }).n;
  }

  /** Forgets what no cap can count any more. */
  prune(nowMs: number): void {
    this.store.sql('DELETE FROM contact_log WHERE at_ms < ?').run(nowMs - 2 * DAY_MS);
  }
}
