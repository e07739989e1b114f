import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Changes } from '../../src/changes.js';
import { openStore, SCHEMA_VERSION } from '../../src/store/database.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { Store } from '../../src/store/store.js';
import { Missions } from '../../src/missions/missions.js';
import { tempDir } from '../helpers.js';

describe('store', () => {
  it('creates the database in WAL mode with foreign keys on and every migration applied', () => {
    const dir = tempDir();
    const db = openStore(dir);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    for (const t of ['missions', 'steps', 'events', 'memory', 'assistants', 'calls', 'call_attempts', 'transcript_turns', 'messages', 'scheduled_work', 'insights', 'webhook_inbox', 'do_not_contact']) {
      expect(tables).toContain(t);
    }
    db.close();
    // Opening again applies nothing twice.
    openStore(dir).close();
  });

  it('migrates a version-4 database to campaigns keeping every mission, step, event and call, references intact', () => {
    const dir = tempDir();
    const db = new Database(join(dir, 'switchboard.db'));
    db.pragma('foreign_keys = ON');
    for (const m of MIGRATIONS.filter((m) => m.version <= 4)) db.exec(m.sql);
    db.pragma('user_version = 4');
    const now = new Date().toISOString();
    db.prepare(`INSERT INTO missions (id, slug, name, instructions, status, created_at, updated_at) VALUES ('msn_1', 'old', 'Old', 'x', 'active', ?, ?)`).run(now, now);
    db.prepare(`INSERT INTO steps (mission_id, step_id, seq, description, status, updated_at) VALUES ('msn_1', 'a', 1, 'A', 'pending', ?)`).run(now);
    db.prepare(`INSERT INTO events (mission_id, type, summary, source, created_at) VALUES ('msn_1', 'mission_created', 'made', 'client', ?)`).run(now);
    db.close();

    const store = new Store(openStore(dir), new Changes());
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(store.db.pragma('foreign_key_check')).toEqual([]);
      expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
      const missions = new Missions(store);
      expect(missions.get('old')).toMatchObject({ status: 'active', steps: [{ step_id: 'a' }] });
      // The new statuses are allowed; a step still cannot point at a mission that does not exist.
      store.tx(() => missions.setStatus('msn_1', 'paused', 'Paused.', 'client'));
      expect(missions.get('old').status).toBe('paused');
      expect(() => store.db.prepare(`INSERT INTO steps (mission_id, step_id, seq, description, status, updated_at) VALUES ('msn_x', 'a', 1, 'A', 'pending', ?)`).run(now)).toThrow(/FOREIGN KEY/);
    } finally {
      store.close();
    }
  });

  it('refuses a database written by a newer switchboard', () => {
    const dir = tempDir();
    openStore(dir).close();
    const raw = new Database(join(dir, 'switchboard.db'));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => openStore(dir)).toThrow(/schema version \d+ but this switchboard only knows up to/);
  });

  it('keeps events append-only', () => {
    const store = new Store(openStore(':memory:'), new Changes());
    const { mission } = new Missions(store).create({ name: 'x', instructions: 'y' });
    expect(() => store.db.prepare('UPDATE events SET summary = ? WHERE mission_id = ?').run('rewritten', mission.mission_id)).toThrow('append-only');
    expect(() => store.db.prepare('DELETE FROM events').run()).toThrow('append-only');
  });

  it('announces a change only after its transaction commits', () => {
    const changes = new Changes();
    const store = new Store(openStore(':memory:'), changes);
    const heard: { id: string; committed: boolean }[] = [];
    changes.subscribe((c) => heard.push({ id: c.id, committed: !store.db.inTransaction }));
    const { mission } = new Missions(store).create({ name: 'x', instructions: 'y' });
    expect(heard).toEqual([{ id: mission.mission_id, committed: true }]);
  });

  it('never announces what a rolled-back transaction announced, then or with the next commit', () => {
    const changes = new Changes();
    const store = new Store(openStore(':memory:'), changes);
    const heard: string[] = [];
    changes.subscribe((c) => heard.push(c.id));
    const missions = new Missions(store);
    const doomed = () =>
      store.tx(() => {
        missions.create({ name: 'doomed', instructions: 'y' });
        throw new Error('rolled back');
      });
    expect(doomed).toThrow('rolled back');
    expect(heard).toEqual([]);
    const { mission } = missions.create({ name: 'kept', instructions: 'y' });
    expect(heard).toEqual([mission.mission_id]);
  });
});

describe('webhook inbox', () => {
  it('forgets deliveries older than two weeks, keeps recent ones', async () => {
    const { pruneWebhookInbox } = await import('../../src/store/webhook-inbox.js');
    const store = new Store(openStore(':memory:'), new Changes());
    const insert = store.db.prepare('INSERT INTO webhook_inbox (provider, event_key, kind, received_at) VALUES (?, ?, ?, ?)');
    insert.run('telnyx', 'old', 'call.hangup', new Date(Date.now() - 15 * 86_400_000).toISOString());
    insert.run('telnyx', 'new', 'call.hangup', new Date(Date.now() - 1 * 86_400_000).toISOString());
    expect(pruneWebhookInbox(store)).toBe(1);
    expect(store.db.prepare('SELECT event_key FROM webhook_inbox').all()).toEqual([{ event_key: 'new' }]);
  });
});
