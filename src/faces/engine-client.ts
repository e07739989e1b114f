import { get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpToken, isAlive, runningEngine } from '../data-dir.js';
import type { EngineStatus } from '../engine/engine.js';

export type EngineAddress = { url: string; token: string; pid: number };

/** The data dir's engine when it runs and answers; null otherwise. */
export async function reachEngine(where: { dataDir: string; token: string | undefined }): Promise<EngineAddress | null> {
  const info = runningEngine(where.dataDir);
  if (!info?.url) return null;
  return (await answers(`${info.url}/healthz`)) ? { url: info.url, token: httpToken(where.dataDir, where.token), pid: info.pid } : null;
}

// node:http rather than fetch: fetch loads undici on first use, which would double a face's start-up.
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(url, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
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
