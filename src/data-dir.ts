import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** What a running engine tells faces about itself, in `<data dir>/engine.lock`. */
export type EngineInfo = { pid: number; url: string | null; started_at: string };

const lockPath = (dataDir: string) => join(dataDir, 'engine.lock');
const tokenPath = (dataDir: string) => join(dataDir, 'http-token');
export const engineLogPath = (dataDir: string) => join(dataDir, 'engine.log');

export class EngineRunning extends Error {
  override name = 'EngineRunning';
  constructor(
    readonly dataDir: string,
    readonly running: EngineInfo,
  ) {
    super(`another Switchboard engine already runs for ${dataDir} (pid ${running.pid}${running.url ? `, ${running.url}` : ', still starting'}); stop it with \`switchboard stop\`, or attach to it with \`switchboard serve\`.`);
  }
}

/** The engine running for this data dir, or null (a lock left by a dead process does not count). */
export function runningEngine(dataDir: string): EngineInfo | null {
  let info: EngineInfo;
  try {
    info = JSON.parse(readFileSync(lockPath(dataDir), 'utf8')) as EngineInfo;
  } catch {
    return null;
  }
  return isAlive(info.pid) ? info : null;
}

/**
 * Takes the data dir for this process: creating the lock file is atomic, so of two engines starting at once
 * exactly one wins. A lock whose process is gone (a crash, kill -9) is taken over.
 */
export function acquireLock(dataDir: string): { publish(url: string): void; release(): void } {
  mkdirSync(dataDir, { recursive: true });
  const info: EngineInfo = { pid: process.pid, url: null, started_at: new Date().toISOString() };
  for (let tries = 0; ; tries++) {
    try {
      const fd = openSync(lockPath(dataDir), 'wx', 0o600);
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 2) throw err;
      const running = runningEngine(dataDir);
      if (running) throw new EngineRunning(dataDir, running);
      rmSync(lockPath(dataDir), { force: true });
    }
  }
  return {
    // Rewritten by rename, so the lock never disappears and a reader never sees half a file.
    publish(url) {
      const tmp = `${lockPath(dataDir)}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify({ ...info, url }), { mode: 0o600 });
      renameSync(tmp, lockPath(dataDir));
    },
    release() {
      if (runningEngine(dataDir)?.pid === process.pid) rmSync(lockPath(dataDir), { force: true });
    },
  };
}

/** The bearer token for `/mcp`: SWITCHBOARD_HTTP_TOKEN, else the data dir's own, generated once with mode 0600. */
export function httpToken(dataDir: string, configured: string | undefined): string {
  if (configured) return configured;
  const path = tokenPath(dataDir);
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true });
    try {
      writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process generated it first; use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return readFileSync(path, 'utf8').trim();
}

/** Whether a process runs; a killed one not yet reaped by its parent (a zombie, on Linux) does not. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc here: trust the signal
  }
}
