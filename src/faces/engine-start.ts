import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig } from '../config.js';
import { engineLogPath, runningEngine } from '../data-dir.js';
import { reachEngine, type EngineAddress } from './engine-client.js';
import type { FaceSettings, faceLogger } from './face-settings.js';

const START_TIMEOUT_MS = 20_000;

/**
 * No engine answers for the data dir: check the whole configuration (bad settings end the face with exit 2 and
 * one line each, as any command), then start an engine in the background. Its log goes to `<data dir>/engine.log`.
 * Several faces may start at once: whichever engine wins the data dir's lock is the one all of them use.
 */
export async function startEngineFor(settings: FaceSettings, log: ReturnType<typeof faceLogger>): Promise<EngineAddress | number> {
  try {
    loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.problems) process.stderr.write(`switchboard: ${line}\n`);
    return 2;
  }
  const logPath = engineLogPath(settings.dataDir);
  let started = false;
  let exited = false;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const engine = await reachEngine(settings);
    if (engine) return engine;
    // The lock's holder may be starting (wait for it) or gone (a crash: start ours, once).
    if (!runningEngine(settings.dataDir)) {
      // An engine that cannot start (a read-only database, a taken port) says why in its log and exits: report it at once.
      if (exited) throw new Error(`the Switchboard engine could not start: ${lastLines(logPath)}`);
      if (!started) {
        started = true;
        spawnEngine(logPath, settings.dataDir).once('exit', () => (exited = true));
        log('info', 'started a Switchboard engine in the background', { log: logPath });
      }
    }
    await sleep(50);
  }
  throw new Error(`the Switchboard engine did not start within ${START_TIMEOUT_MS / 1000} s; its log (${logPath}) says: ${lastLines(logPath)}`);
}

function spawnEngine(logPath: string, dataDir: string) {
  mkdirSync(dataDir, { recursive: true });
  const logFile = openSync(logPath, 'a');
  const child = spawn(process.execPath, [process.argv[1], 'engine', '--exit-when-idle'], { detached: true, stdio: ['ignore', 'ignore', logFile], env: process.env });
  closeSync(logFile);
  child.unref();
  return child;
}

function lastLines(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ') || '(nothing)';
  } catch {
    return '(no log)';
  }
}
