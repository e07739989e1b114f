import { spawn, spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, testEnv } from './helpers.js';
import { CLI, serveEnv } from './spawn.js';

/** A file the current user cannot write: root ignores mode bits, so it gets the immutable attribute instead. */
function makeReadOnly(file: string): () => void {
  if (process.getuid?.() !== 0) {
    chmodSync(file, 0o444);
    return () => chmodSync(file, 0o644);
  }
  const set = spawnSync('chattr', ['+i', file]);
  if (set.status !== 0) throw new Error(`chattr +i failed: ${set.stderr}`);
  return () => void spawnSync('chattr', ['-i', file]);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer().once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

describe('start-up', () => {
  it('a read-only database stops serve with a clear error and a non-zero exit, holding no port', async () => {
    const env = testEnv();
    const dir = env.SWITCHBOARD_DATA_DIR;
    // A first run creates the database; then it is made read-only, as after a restore with the wrong owner.
    expect(spawnSync(process.execPath, [CLI, 'doctor'], { env: { PATH: process.env.PATH ?? '', ...env } }).status).toBe(0);
    const restore = makeReadOnly(join(dir, 'switchboard.db'));
    const port = await freePort();
    try {
      const child = spawn(process.execPath, [CLI, 'serve'], { env: serveEnv({ ...env, SWITCHBOARD_HTTP_PORT: String(port) }), stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise((resolve) => child.on('exit', resolve));
      expect(code).not.toBe(0);
      expect(stderr).toMatch(/switchboard\.db is read-only .*make it and its folder writable/);
      expect(await portIsFree(port)).toBe(true);
    } finally {
      restore();
    }
  });

  it('refuses SWITCHBOARD_VOICE=openai on the simulated carrier or without a key, instead of silently running the scripted agent', () => {
    const env = testEnv({ SWITCHBOARD_VOICE: 'openai' });
    const run = spawnSync(process.execPath, [CLI, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env }, input: '' });
    expect(run.status).toBe(2);
    expect(run.stderr.toString()).toMatch(/SWITCHBOARD_VOICE: openai \(live voice\) needs a real carrier/);
    expect(run.stderr.toString()).toMatch(/OPENAI_API_KEY: is required when SWITCHBOARD_VOICE=openai/);
  });

  it.each([['serve', '--help'], ['serve', '-h'], ['help']])('`switchboard %s %s` prints the usage and starts nothing', (...args) => {
    const env = testEnv();
    const run = spawnSync(process.execPath, [CLI, ...args.filter(Boolean)], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 10_000 });
    expect(run.status).toBe(0);
    expect(run.stderr.toString()).toMatch(/Usage:\n\s+switchboard serve/);
    expect(run.stdout.toString()).toBe('');
  });
});
