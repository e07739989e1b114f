import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The few settings a face needs, read without the full config schema (which would cost most of a face's start). */
export type FaceSettings = { dataDir: string; token: string | undefined; logLevel: string; engine: string };

export function faceSettings(env: NodeJS.ProcessEnv): FaceSettings {
  const file = configFile(env);
  const get = (key: string) => (env[key] || undefined) ?? (typeof file[key] === 'string' ? (file[key] as string) : undefined);
  return {
    dataDir: resolve(get('SWITCHBOARD_DATA_DIR') ?? join(homedir(), '.switchboard')),
    token: get('SWITCHBOARD_HTTP_TOKEN'),
    logLevel: get('SWITCHBOARD_LOG_LEVEL') ?? 'info',
    engine: get('SWITCHBOARD_ENGINE') ?? 'auto',
  };
}

// The same file loadConfig reads; a broken one is reported by the engine's full validation, not here.
function configFile(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const path = env.SWITCHBOARD_CONFIG ?? join(env.SWITCHBOARD_DATA_DIR || join(homedir(), '.switchboard'), 'config.json');
  if (!existsSync(path)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** pino-shaped JSON lines on stderr (stdout carries MCP frames), without loading pino. */
export function faceLogger(level: string): (lvl: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void {
  const threshold = LEVELS[level] ?? 30;
  return (lvl, msg, fields = {}) => {
    if (LEVELS[lvl] < threshold) return;
    process.stderr.write(`${JSON.stringify({ level: LEVELS[lvl], time: Date.now(), pid: process.pid, name: 'switchboard', face: true, ...fields, msg })}\n`);
  };
}
