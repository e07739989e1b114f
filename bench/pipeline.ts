import { createApp } from '../src/app.js';
import { waitForCalls } from '../src/calls/wait.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { percentile, tempDir, UNGUARDED, type Row } from './util.js';

const fastSim = (extra: Record<string, string> = {}) =>
  loadConfig({
    SWITCHBOARD_DATA_DIR: tempDir(),
    SWITCHBOARD_SIM_TIME_SCALE: '0',
    SWITCHBOARD_MIN_CALL_SPACING_MS: '0',
    SWITCHBOARD_MAX_CONCURRENT_CALLS: '10000',
    ...UNGUARDED,
    ...extra,
  });

const QUOTE = { type: 'object', properties: { price_per_square: { type: 'string' }, earliest_start: { type: 'string' } } };

/** Scheduler lateness: 1,000 calls due at random times within one minute; fire time minus due time. */
export async function benchLateness(): Promise<Row[]> {
  const app = await createApp(fastSim(), createLogger('warn'));
  const start = Date.now() + 2000;
  const ids: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const at = new Date(start + Math.floor(Math.random() * 60_000)).toISOString();
    ids.push(app.calls.initiate({ to: '+15550100002', scheduled_at: at }).call.call_id);
  }
  let result = await waitForCalls(app, { callIds: ids, until: 'all', timeoutMs: 50_000 });
  while (!result.done) result = await waitForCalls(app, { callIds: ids, until: 'all', timeoutMs: 50_000 });
  const late = ids.map((id) => {
    const call = app.calls.get(id);
    return Date.parse(call.attempts[0].started_at) - Date.parse(call.scheduled_at);
  });
  await app.stop();
  return [{ metric: 'scheduler lateness, 1,000 calls due within 1 min', p50: percentile(late, 50), p99: percentile(late, 99), max: Math.max(...late), unit: 'ms', target: 'p99 < 50 ms' }];
}

/** Whole pipeline at time scale 0: schedule → dial → IVR-free talk with two questions → insights. */
export async function benchThroughput(n = 3000): Promise<Row[]> {
  const app = await createApp(fastSim(), createLogger('warn'));
  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(app.calls.initiate({ to: '+15550100001', insight_schema: QUOTE }).call.call_id);
  await waitForCalls(app, { callIds: ids, until: 'all', timeoutMs: 120_000 });
  const seconds = (performance.now() - t0) / 1000;
  const completed = ids.filter((id) => app.insights.forCall(id).status === 'ready').length;
  await app.stop();
  return [{ metric: `simulated calls completed with insights (${n}, scale 0)`, value: completed / seconds, unit: 'calls/s', target: '≥ 200' }];
}
