import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export class StoreError extends Error {
  override name = 'StoreError';
}

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Opens (creating if needed) `<dataDir>/switchboard.db`, WAL, foreign keys on, migrated. `:memory:` for tests. */
export function openStore(dataDir: string | ':memory:'): Db {
  let path = ':memory:';
  if (dataDir !== ':memory:') {
    mkdirSync(dataDir, { recursive: true });
    path = join(dataDir, 'switchboard.db');
  }
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // Checkpoints run on a timer (Store.startCheckpoints); this is only the backstop under sustained load.
    db.pragma('wal_autocheckpoint = 10000');
    migrate(db);
    // Reading works on a read-only file; the first write would fail much later, after the listener is up.
    if (path !== ':memory:') db.pragma(`user_version = ${SCHEMA_VERSION}`);
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== 'SQLITE_READONLY') throw err;
    throw new StoreError(`${path} is read-only (${(err as Error).message}); make it and its folder writable by the user running switchboard, or point SWITCHBOARD_DATA_DIR elsewhere.`);
  }
  return db;
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new StoreError(
      `the database is at schema version ${current} but this switchboard only knows up to ${SCHEMA_VERSION}; upgrade switchboard-mcp (or point SWITCHBOARD_DATA_DIR elsewhere).`,
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    // Foreign keys cannot be switched inside a transaction; a rebuilt table is checked before its commit instead.
    if (m.rebuildsTables) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        db.exec(m.sql);
        const broken = m.rebuildsTables ? (db.pragma('foreign_key_check') as unknown[]) : [];
        if (broken.length > 0) throw new StoreError(`migration ${m.version} (${m.name}) would break ${broken.length} reference(s); nothing was changed.`);
        db.pragma(`user_version = ${m.version}`);
      })();
    } finally {
      if (m.rebuildsTables) db.pragma('foreign_keys = ON');
    }
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}
