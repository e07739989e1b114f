import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.js';
import { engineLogPath, httpToken, isAlive, runningEngine } from '../data-dir.js';
import type { EngineStatus } from '../engine/engine.js';
import type { Logger } from '../log.js';

export type EngineAddress = { url: string; token: string; pid: number };

const START_TIMEOUT_MS = 20_000;

/** The data dir's engine when it runs and answers; null otherwise. */
export async function reachEngine(config: Config): Promise<EngineAddress | null> {
  const info = runningEngine(config.SWITCHBOARD_DATA_DIR);
  if (!info?.url) return null;
  const token = httpToken(config.SWITCHBOARD_DATA_DIR, config.SWITCHBOARD_HTTP_TOKEN);
  try {
    const res = await fetch(`${info.url}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? { url: info.url, token, pid: info.pid } : null;
  } catch {
    return null;
  }
}

/**
 * The engine for this data dir, started in the background first when none runs. Its log goes to
 * `<data dir>/engine.log`; ours only says that it was started (stderr: stdout carries MCP frames).
 */
export async function findOrStartEngine(config: Config, log: Logger): Promise<EngineAddress> {
  const found = await reachEngine(config);
  if (found) return found;
  const logPath = engineLogPath(config.SWITCHBOARD_DATA_DIR);
  let failed: number | null = null;
  if (!runningEngine(config.SWITCHBOARD_DATA_DIR)) {
    mkdirSync(config.SWITCHBOARD_DATA_DIR, { recursive: true });
    const logFile = openSync(logPath, 'a');
    const child = spawn(process.execPath, [process.argv[1], 'engine', '--exit-when-idle'], { detached: true, stdio: ['ignore', 'ignore', logFile], env: process.env });
    closeSync(logFile);
    child.unref();
    // An engine that cannot start (bad database, port taken) says why in its log and exits: report that at once.
    child.once('exit', (code) => (failed = code ?? 1));
    log.info({ pid: child.pid, log: logPath }, 'started a Switchboard engine in the background');
  }
  // Several faces may start at once: whichever engine wins the data dir's lock is the one all of them use.
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const engine = await reachEngine(config);
    if (engine) return engine;
    if (failed !== null && !runningEngine(config.SWITCHBOARD_DATA_DIR)) throw new Error(`the Switchboard engine could not start: ${lastLines(logPath)}`);
    await sleep(50);
  }
  throw new Error(`the Switchboard engine did not start within ${START_TIMEOUT_MS / 1000} s; its log (${logPath}) says: ${lastLines(logPath)}`);
}

export async function engineStatus(engine: EngineAddress): Promise<EngineStatus> {
  const res = await fetch(`${engine.url}/engine`, { headers: { authorization: `Bearer ${engine.token}` } });
  if (!res.ok) throw new Error(`the engine at ${engine.url} answered ${res.status} to a status request`);
  return (await res.json()) as EngineStatus;
}

/** Asks the engine to stop and waits until its process is gone. */
export async function stopEngine(engine: EngineAddress, timeoutMs = 15_000): Promise<void> {
  const res = await fetch(`${engine.url}/engine`, { method: 'POST', headers: { authorization: `Bearer ${engine.token}` } }).catch(() => null);
  if (!res?.ok) process.kill(engine.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(engine.pid)) {
    if (Date.now() > deadline) throw new Error(`engine pid ${engine.pid} did not stop within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

function lastLines(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ') || '(nothing)';
  } catch {
    return '(no log)';
  }
}
