import { UserError } from './errors.js';

export const nowIso = (): string => new Date().toISOString();

/** Parses an ISO 8601 time that carries a zone (Z or ±hh:mm); `undefined` means now. */
export function parseScheduledAt(value: string | undefined, now = Date.now()): number {
  if (value === undefined) return now;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(value)) {
    throw new UserError(`\`scheduled_at\` must be an ISO 8601 time with a zone, like 2026-12-01T15:00:00-05:00 (got ${JSON.stringify(value)}).`);
  }
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new UserError(`\`scheduled_at\` is not a real date and time (got ${JSON.stringify(value)}).`);
  // A little slack so "now" computed on the client's clock is not refused.
  if (at < now - 60_000) {
    throw new UserError(`\`scheduled_at\` ${value} is in the past; omit it to act now or give a future time.`);
  }
  return Math.max(at, now);
}

export const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Where "now" comes from for what guardrails and due times decide (calling hours, daily caps, when work is due).
 * The app takes one (default: the system clock) so tests can stand anywhere in time; record timestamps stay real.
 */
export type Clock = { now(): number };
export const systemClock: Clock = { now: () => Date.now() };
