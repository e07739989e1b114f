import type { Store } from '../store/store.js';

export type ContactKind = 'call' | 'sms';
export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * When one more contact may go out under a cap of `limit` per rolling 24 h, at or after `atMs`, given the times
 * (ascending) of the contacts made in the 24 h before `atMs`: `atMs` itself while under the cap, else the moment
 * enough of them are 24 h old that one more fits.
 */
export function capFreeAt(recent: readonly number[], limit: number, atMs: number): number {
  const over = recent.length - limit;
  return over < 0 ? atMs : recent[over]! + DAY_MS;
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

  /** Times of the contacts of `kind` with `number` after `sinceMs`, oldest first. */
  since(kind: ContactKind, number: string, sinceMs: number): number[] {
    return (this.store.sql('SELECT at_ms FROM contact_log WHERE number = ? AND kind = ? AND at_ms > ? ORDER BY at_ms').all(number, kind, sinceMs) as { at_ms: number }[]).map(
      (r) => r.at_ms,
    );
  }

  /** Forgets what no cap can count any more. */
  prune(nowMs: number): void {
    this.store.sql('DELETE FROM contact_log WHERE at_ms < ?').run(nowMs - 2 * DAY_MS);
  }
}
