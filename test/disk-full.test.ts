import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Changes } from '../src/changes.js';
import type { Logger } from '../src/log.js';
import { openStore } from '../src/store/database.js';
import { Store } from '../src/store/store.js';
import { startHarness, tempDir, until, type Harness } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** SQLite's own full-disk condition: the database may not grow past its current size. */
function fillDisk(store: Store): () => void {
  const pages = store.db.pragma('page_count', { simple: true }) as number;
  store.db.pragma(`max_page_count = ${pages + 1}`);
  return () => store.db.pragma('max_page_count = 1073741823');
}

describe('a full disk', () => {
  it('makes writing tools answer isError saying so, keeps what was stored, and works again once there is room', async () => {
    h = await startHarness();
    await h.call('create_mission', { name: 'Before', instructions: 'stored before the disk filled' });
    const makeRoom = fillDisk(h.app.store);

    let refusal = '';
    for (let i = 0; i < 50 && !refusal; i++) {
      const res = await h.client.callTool({ name: 'create_mission', arguments: { name: `Filler ${i}`, instructions: 'x'.repeat(10_000) } });
      if (res.isError) refusal = (res.content as { text: string }[])[0].text;
    }
    expect(refusal).toMatch(/disk holding the Switchboard database is full, so nothing was changed/);
    expect(await h.fail('save_memory', { mission_id: 'before', key: 'big', value: 'y'.repeat(60_000) })).toMatch(/disk .* is full/);
    expect((await h.call('get_mission', { mission_id: 'before' })).name).toBe('Before');

    makeRoom();
    expect(await h.call('create_mission', { name: 'After', instructions: 'the disk has room again' })).toMatchObject({ status: 'active' });
  });

  it('a failing WAL checkpoint is logged once and retried; it never throws out of the timer', async () => {
    const dir = tempDir();
    const store = new Store(openStore(dir), new Changes());
    const log = { error: vi.fn(), info: vi.fn() } as unknown as Logger;
    let tries = 0;
    const pragma = store.db.pragma.bind(store.db);
    store.db.pragma = ((source: string, options?: { simple?: boolean }) => {
      if (source.startsWith('wal_checkpoint') && ++tries <= 3) throw new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
      return pragma(source, options);
    }) as typeof store.db.pragma;
    try {
      store.startCheckpoints(log, 5);
      await until(() => tries > 4, 'checkpoints to be retried');
      expect(log.error).toHaveBeenCalledTimes(1);
      expect(log.info).toHaveBeenCalledWith('WAL checkpoints work again');
    } finally {
      store.close();
    }
  });
});
