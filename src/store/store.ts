import type { Statement } from 'better-sqlite3';
import type { Change, Changes } from '../changes.js';
import type { Db } from './database.js';

/**
 * The database plus the rule "persist, then announce": changes announced inside a
 * transaction are published only after the outermost transaction commits, and dropped on rollback.
 */
export class Store {
  private readonly statements = new Map<string, Statement>();
  private queued: Change[] = [];
  private checkpointTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly db: Db,
    readonly changes: Changes,
  ) {}

  /** A cached prepared statement. */
  sql(source: string): Statement {
    let stmt = this.statements.get(source);
    if (!stmt) {
      stmt = this.db.prepare(source);
      this.statements.set(source, stmt);
    }
    return stmt;
  }

  /** Runs `fn` in one transaction (or inside the caller's), then publishes what it announced. */
  tx<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    let result: T;
    // Plain BEGIN/COMMIT on cached statements: db.transaction() builds a new wrapper on every call.
    this.sql('BEGIN IMMEDIATE').run();
    try {
      result = fn();
      this.sql('COMMIT').run();
    } catch (err) {
      if (this.db.inTransaction) this.sql('ROLLBACK').run();
      this.queued = [];
      throw err;
    }
    const queued = this.queued;
    this.queued = [];
    for (const change of queued) this.changes.publish(change);
    return result;
  }

  announce(change: Change): void {
    if (!this.db.inTransaction) return this.changes.publish(change);
    const dup = this.queued.find((c) => c.kind === change.kind && c.id === change.id);
    if (!dup) this.queued.push(change);
    else if (dup.kind === 'call' && change.kind === 'call') dup.transcript ||= change.transcript;
  }

  /**
   * Copies the WAL into the database once a second instead of every 1,000 pages inside some unlucky
   * request: pages written many times between checkpoints are copied once.
   */
  startCheckpoints(intervalMs = 1000): void {
    this.checkpointTimer ??= setInterval(() => {
      if (this.db.open && !this.db.inTransaction) this.db.pragma('wal_checkpoint(PASSIVE)');
    }, intervalMs).unref();
  }

  close(): void {
    clearInterval(this.checkpointTimer);
    this.statements.clear();
    if (this.db.open) this.db.close();
  }
}
