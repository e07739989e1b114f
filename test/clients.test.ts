import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testEnv } from './helpers.js';
import { CLI, stopEngineAtEnd } from './spawn.js';

const MCPORTER = fileURLToPath(new URL('../node_modules/.bin/mcporter', import.meta.url));

/** One `mcporter call` in its default per-call mode: it starts `serve`, calls one tool and closes it. */
function mcporter(env: Record<string, string>, tool: string, args: Record<string, unknown>): any {
  const envFlags = Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
  const run = spawnSync(MCPORTER, ['call', '--stdio', `${process.execPath} ${CLI} serve`, ...envFlags, '--tool', tool, '--args', JSON.stringify(args), '--output', 'json'], {
    env: { PATH: process.env.PATH ?? '', HOME: env.SWITCHBOARD_DATA_DIR },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`mcporter ${tool} failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe('MCP clients as users run them', () => {
  it('mcporter in per-call mode: the call placed by one invocation is completed when a later one asks', () => {
    const env = testEnv({ SWITCHBOARD_ENGINE: 'auto', SWITCHBOARD_SIM_TIME_SCALE: '0.05', SWITCHBOARD_LOG_LEVEL: 'warn' });
    stopEngineAtEnd(env.SWITCHBOARD_DATA_DIR);
    const placed = mcporter(env, 'initiate_call', { to: '+15550100001', insight_schema: { type: 'object', properties: { price_per_square: { type: 'string' } } } });
    expect(placed).toMatchObject({ call_id: expect.stringMatching(/^call_/), created: true });

    expect(mcporter(env, 'wait_for_calls', { call_ids: [placed.call_id], timeout_seconds: 30 })).toMatchObject({ done: true });
    expect(mcporter(env, 'get_call', { call_id: placed.call_id })).toMatchObject({ status: 'completed', fields: { price_per_square: '$450' } });
  });
});
