import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Row = { metric: string; p50?: number; p99?: number; max?: number; value?: number; unit: string; target: string };

const scratch: string[] = [];
process.on('exit', () => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/**
 * Benches dial the simulated numbers at any hour and thousands of times: calling hours off and caps out of the way
 * (the cap is still counted on every dispatch, so its cost is measured).
 */
export const UNGUARDED = { SWITCHBOARD_CALLING_HOURS: 'off', SWITCHBOARD_MAX_CALLS_PER_NUMBER_PER_DAY: '100000', SWITCHBOARD_MAX_SMS_PER_NUMBER_PER_DAY: '100000' };

/** A scratch store for one measurement, removed when the bench process exits. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
  scratch.push(dir);
  return dir;
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function printTable(rows: Row[]): void {
  const fmt = (n: number | undefined) => (n === undefined ? '' : n >= 100 ? n.toFixed(0) : n.toFixed(2));
  const head = ['metric', 'p50', 'p99', 'max', 'value', 'unit', 'target'];
  const body = rows.map((r) => [r.metric, fmt(r.p50), fmt(r.p99), fmt(r.max), fmt(r.value), r.unit, r.target]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
}

/** Samples of `fn`'s duration in ms, after 100 warm-up calls. */
export async function time(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 100; i++) await fn(i);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    samples.push(performance.now() - t0);
  }
  return samples;
}
