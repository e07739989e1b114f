import type { Statement } from 'better-sqlite3';
import type { Change, Changes } from '../changes.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Db } from './database.js';
import { DomainEvents } from './domain-events.js';

/** SQLite could not grow the database: the disk (or its quota) is full. Nothing of the failed change was kept. */
export class DiskFullError extends UserError {
  override name = 'DiskFullError';
  constructor() {
    super('The disk holding the Switchboard database is full, so nothing was changed. Free some space and try again; everything already stored is intact.', { code: 'disk_full' });
  }
}

const isDiskFull = (err: unknown): boolean => (err as { code?: unknown })?.code === 'SQLITE_FULL';

/**
 * The database plus the rule "persist, then announce": changes announced inside a transaction are
 * published only after the outermost transaction commits, and dropped on rollback. Work that must
 * follow a commit (a hangup at the carrier) waits for it the same way.
 */
export class Store {
  /** Domain events, handled synchronously inside the transaction that raised them. */
  readonly events = new DomainEvents();
  private readonly statements = new Map<string, Statement>();
  private queued: Change[] = [];
  /** The queued changes by thing, so a transaction touching thousands of things dedupes in constant time. */
  private queuedByKey = new Map<string, Change>();
  private afterCommitQueue: (() => void)[] = [];
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
    try {
      this.sql('BEGIN IMMEDIATE').run();
      result = fn();
      this.sql('COMMIT').run();
    } catch (err) {
      if (this.db.inTransaction) this.sql('ROLLBACK').run();
      this.queued = [];
      this.queuedByKey.clear();
      this.afterCommitQueue = [];
      throw isDiskFull(err) ? new DiskFullError() : err;
    }
    const queued = this.queued;
    const after = this.afterCommitQueue;
    this.queued = [];
    this.queuedByKey.clear();
    this.afterCommitQueue = [];
    for (const change of queued) this.changes.publish(change);
    for (const fn of after) fn();
    return result;
  }

  /**
   * Runs `fn` inside the current transaction as a unit of its own: when it throws, what it wrote and
   * announced is undone and the error is rethrown, while the enclosing transaction stays usable.
   */
  savepoint<T>(fn: () => T): T {
    if (!this.db.inTransaction) return this.tx(fn);
    const announced = this.queued.length;
    const followUps = this.afterCommitQueue.length;
    this.sql('SAVEPOINT unit').run();
    try {
      const result = fn();
      this.sql('RELEASE unit').run();
      return result;
    } catch (err) {
      this.sql('ROLLBACK TO unit').run();
      this.sql('RELEASE unit').run();
      for (const undone of this.queued.splice(announced)) this.queuedByKey.delete(changeKey(undone));
      this.afterCommitQueue.length = followUps;
      throw err;
    }
  }

  announce(change: Change): void {
    if (!this.db.inTransaction) return this.changes.publish(change);
    const key = changeKey(change);
    const dup = this.queuedByKey.get(key);
    if (!dup) {
      this.queued.push(change);
      this.queuedByKey.set(key, change);
    }
    else if (dup.kind === 'call' && change.kind === 'call') dup.transcript ||= change.transcript;
  }

  /** Runs `fn` once the current transaction has committed (at once outside one); never after a rollback. */
  afterCommit(fn: () => void): void {
    if (this.db.inTransaction) this.afterCommitQueue.push(fn);
    else fn();
  }

  /**
   * Copies the WAL into the database once a second instead of every 1,000 pages inside some unlucky
   * request: pages written many times between checkpoints are copied once. A failure (a full disk) is
   * logged and tried again on the next tick; it must never take the process down.
   */
  startCheckpoints(log: Logger, intervalMs = 1000): void {
    let failing = false;
    this.checkpointTimer ??= setInterval(() => {
      if (!this.db.open || this.db.inTransaction) return;
      try {
        this.db.pragma('wal_checkpoint(PASSIVE)');
        if (failing) log.info('WAL checkpoints work again');
        failing = false;
      } catch (err) {
        if (!failing) log.error({ err }, 'WAL checkpoint failed (is the disk full?); retrying every tick');
        failing = true;
      }
    }, intervalMs).unref();
  }

  close(): void {
    clearInterval(this.checkpointTimer);
    this.statements.clear();
    if (this.db.open) this.db.close();
  }
}

const changeKey = (change: Change): string => `${change.kind}:${change.id}`;
