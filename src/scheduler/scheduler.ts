import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { nowIso, systemClock, type Clock } from '../time.js';
import { EarliestTimer } from './earliest-timer.js';

export type WorkKind = 'call' | 'sms';
export type WorkItem = { id: number; kind: WorkKind; ref_id: string; due_ms: number };

export type SchedulerOptions = {
  maxConcurrentCalls: number;
  minCallSpacingMs: number;
  log: Logger;
  /** What due times are compared with; the system clock unless a test stands elsewhere in time. */
  clock?: Clock;
};

/**
 * Who carries out due work. `dispatch` must claim the item (`claim`) in the transaction that records the dispatch,
 * and says whether it went to the carrier (false: refused, or deferred by the guardrails to a later time).
 */
export type Workers = {
  sms: { dispatch(item: WorkItem): boolean };
  call: {
    dispatch(item: WorkItem): boolean;
    /** Calls live at the carrier right now. */
    liveCount(): number;
    /** A due call must wait for a free line or for spacing. */
    markWaiting(callId: string): void;
  };
};

const BATCH = 500;

/**
 * Durable dispatch of calls and SMS at their time. The queue lives in SQLite; a single timer is armed
 * for the next due item (no polling). Items are claimed in a transaction, so none is dispatched twice.
 */
export class Scheduler {
  private readonly clock: Clock;
  private readonly timer: EarliestTimer;
  private lastCallStart = 0;
  private running = false;
  private stopped = true;
  private workers: Workers | undefined;

  constructor(
    private readonly store: Store,
    private readonly opts: SchedulerOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.timer = new EarliestTimer(() => this.run(), () => this.clock.now());
  }

  /** Now, on the clock due times are kept on: work computing a due time (a retry, a deferral) reads it here. */
  now(): number {
    return this.clock.now();
  }

  /** Starts dispatching due work to `workers`; work enqueued before this waits for it. */
  start(workers: Workers): void {
    this.workers = workers;
    this.stopped = false;
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    this.timer.disarm();
  }

  /** Adds work; call inside the transaction that created the call or message. */
  enqueue(kind: WorkKind, refId: string, dueMs: number): void {
    this.store.sql(`INSERT INTO scheduled_work (kind, ref_id, due_ms, state, created_at) VALUES (?, ?, ?, 'pending', ?)`).run(kind, refId, dueMs, nowIso());
    // The timer is re-armed once the caller's transaction has committed.
    if (dueMs < this.timer.at) queueMicrotask(() => this.arm(dueMs));
  }

  /** Cancels pending work for a call or message; true when something was pending. */
  cancel(refId: string): boolean {
    return this.store.sql(`UPDATE scheduled_work SET state = 'cancelled' WHERE ref_id = ? AND state = 'pending'`).run(refId).changes > 0;
  }

  /** Marks an item taken. False when another dispatch (or a cancel) got there first. */
  claim(itemId: number): boolean {
    return this.store.sql(`UPDATE scheduled_work SET state = 'claimed', claimed_at = ? WHERE id = ? AND state = 'pending'`).run(nowIso(), itemId).changes === 1;
  }

  /** The next pending item, if any: what `status` shows, and what keeps an idle engine up. */
  next(): { kind: WorkKind; ref_id: string; due_at: string } | null {
    const row = this.store.sql(`SELECT kind, ref_id, due_ms FROM scheduled_work WHERE state = 'pending' ORDER BY due_ms, id LIMIT 1`).get() as
      | { kind: WorkKind; ref_id: string; due_ms: number }
      | undefined;
    return row ? { kind: row.kind, ref_id: row.ref_id, due_at: new Date(row.due_ms).toISOString() } : null;
  }

  /** Look again now: a line may have freed up, or new work arrived. */
  wake(): void {
    this.arm(this.clock.now());
  }

  private arm(at: number): void {
    if (!this.stopped && this.workers) this.timer.arm(at);
  }

  private run(): void {
    if (this.stopped || this.running) return;
    this.running = true;
    let next = Infinity;
    try {
      next = this.dispatchDue();
    } catch (err) {
      this.opts.log.error({ err }, 'scheduler pass failed; retrying in a second');
      next = this.clock.now() + 1000;
    } finally {
      this.running = false;
    }
    if (next < Infinity) this.arm(next);
  }

  /** Dispatches everything due that limits allow; returns when to look next. */
  private dispatchDue(): number {
    const workers = this.workers!;
    const now = this.clock.now();
    const dueOf = (kind: WorkKind, limit: number) =>
      this.store
        .sql(`SELECT id, kind, ref_id, due_ms FROM scheduled_work WHERE state = 'pending' AND kind = ? AND due_ms <= ? ORDER BY due_ms, id LIMIT ?`)
        .all(kind, now, limit) as WorkItem[];

    const sms = dueOf('sms', BATCH);
    for (const item of sms) workers.sms.dispatch(item);

    const { maxConcurrentCalls, minCallSpacingMs } = this.opts;
    const free = maxConcurrentCalls - workers.call.liveCount();
    // Spacing is a carrier's rate limit, so it runs on real time whatever clock due times are kept on.
    const spacingLeft = () => Math.max(0, this.lastCallStart + minCallSpacingMs - Date.now());
    let next = Infinity;
    let started = 0;
    if (free > 0 && spacingLeft() === 0) {
      // With spacing, only one call may start per window; one the guardrails deferred starts nothing.
      const calls = dueOf('call', Math.min(free, minCallSpacingMs > 0 ? 1 : BATCH));
      for (const item of calls) if (workers.call.dispatch(item)) started++;
      if (started > 0) this.lastCallStart = Date.now();
    }
    const waiting = this.store
      .sql(
        `SELECT w.ref_id FROM scheduled_work w JOIN calls c ON c.id = w.ref_id
         WHERE w.state = 'pending' AND w.kind = 'call' AND w.due_ms <= ? AND c.status = 'scheduled' LIMIT ?`,
      )
      .all(now, BATCH) as { ref_id: string }[];
    for (const w of waiting) workers.call.markWaiting(w.ref_id);
    // Calls still due: a full house is woken by a call ending, spacing by the timer.
    const moreDue = dueOf('call', 1).length > 0;
    if (moreDue && free - started > 0) next = now + spacingLeft();
    if (sms.length === BATCH) return now;
    const upcoming = this.store.sql(`SELECT min(due_ms) AS due FROM scheduled_work WHERE state = 'pending' AND due_ms > ?`).get(now) as { due: number | null };
    return Math.min(next, upcoming.due ?? Infinity);
  }
}
