import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createApp, type App } from '../src/app.js';
import { waitForCalls } from '../src/calls/wait.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { createMcpServer } from '../src/mcp/server.js';
import { percentile, tempDir, UNGUARDED, type Row } from './util.js';

const QUOTE = { type: 'object', properties: { price_per_square: { type: 'string' }, earliest_start: { type: 'string' } } };
const N = 1000;

async function connect(app: App): Promise<{ call(name: string, args: Record<string, unknown>): Promise<any>; close(): Promise<void> }> {
  const mcp = createMcpServer(app);
  const client = new Client({ name: 'bench', version: '0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([mcp.server.connect(b), client.connect(a)]);
  return {
    async call(name, args) {
      const res = await client.callTool({ name, arguments: args });
      if (res.isError) throw new Error(`${name}: ${JSON.stringify(res.content)}`);
      return res.structuredContent;
    },
    async close() {
      await client.close();
      await mcp.close();
    },
  };
}

const config = (extra: Record<string, string> = {}) =>
  loadConfig({ SWITCHBOARD_DATA_DIR: tempDir(), SWITCHBOARD_SIM_TIME_SCALE: '0', SWITCHBOARD_MIN_CALL_SPACING_MS: '0', SWITCHBOARD_MAX_CONCURRENT_CALLS: '10000', ...UNGUARDED, ...extra });

/** Distinct simulated people (unknown numbers answer, with no facts). */
const simTargets = (n: number, offset = 0) => Array.from({ length: n }, (_, i) => ({ to: `+1555${String(2_000_000 + offset + i).padStart(7, '0')}`, name: `Roofer ${i + 1}` }));

/** Real-looking numbers on three continents, so the preview looks each one's zones up. */
const worldTargets = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ to: [`+1212555${String(i).padStart(4, '0')}`, `+3315555${String(i).padStart(4, '0')}`, `+8135555${String(i).padStart(4, '0')}`][i % 3]! }));

/**
 * A 1,000-target sweep on sim at time scale 0, from create_mission to the composed result, beside 1,000 plain
 * initiate_call in the same run (the pipeline's own figure, the peer); and preview_mission for 1,000 targets with
 * calling hours on. Both through an in-memory MCP client.
 */
export async function benchCampaigns(): Promise<Row[]> {
  const rows: Row[] = [];

  const plain = await createApp(config(), createLogger('warn'));
  let plainRate: number;
  try {
    const t0 = performance.now();
    const ids = simTargets(N, 500_000).map((t) => plain.calls.initiate({ to: t.to, insight_schema: QUOTE }).call.call_id);
    await waitForCalls(plain, { callIds: ids, until: 'all', timeoutMs: 120_000 });
    plainRate = N / ((performance.now() - t0) / 1000);
  } finally {
    await plain.stop();
  }

  const app = await createApp(config(), createLogger('warn'));
  const mcp = await connect(app);
  try {
    const walls: number[] = [];
    const creates: number[] = [];
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now();
      const m = await mcp.call('create_mission', { name: `Sweep ${run}`, instructions: 'Ask for a quote.', insight_schema: QUOTE, targets: simTargets(N, run * N) });
      creates.push(performance.now() - t0);
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          const status = app.missions.status(m.mission_id);
          if (status === 'succeeded' || status === 'failed') return resolve();
          if (performance.now() - t0 > 120_000) return reject(new Error('sweep did not end in 120 s'));
          setTimeout(check, 5);
        };
        check();
      });
      walls.push(performance.now() - t0);
      const result = (await mcp.call('get_mission', { mission_id: m.mission_id })).result;
      if (result.counts.called !== N) throw new Error(`sweep called ${result.counts.called} of ${N}`);
    }
    const wall = percentile(walls, 50);
    const rate = N / (wall / 1000);
    rows.push(
      { metric: `campaign sweep, ${N} targets, create_mission → composed result (sim, scale 0; 3 runs)`, p50: wall, max: Math.max(...walls), unit: 'ms', target: '' },
      { metric: `campaign sweep, ${N} targets: create_mission returns`, p50: percentile(creates, 50), max: Math.max(...creates), unit: 'ms', target: '' },
      { metric: `campaign sweep, ${N} targets: calls per second`, value: rate, unit: 'calls/s', target: '≥ 200' },
      { metric: `peer: ${N} plain initiate_call, same run (the pipeline's own figure)`, value: plainRate, unit: 'calls/s', target: '' },
      { metric: 'campaign / plain pipeline rate', value: rate / plainRate, unit: '×', target: '' },
    );
  } finally {
    await mcp.close();
    await app.stop();
  }

  const guarded = await createApp(config({ SWITCHBOARD_CALLING_HOURS: '08:00-21:00' }), createLogger('warn'));
  const client = await connect(guarded);
  try {
    const input = { name: 'World', instructions: 'Ask for a quote.', insight_schema: QUOTE, class: 'screening', rubric: [{ field: 'price_per_square', weight: 1, prefer: 'lower' }], targets: worldTargets(N) };
    const samples: number[] = [];
    for (let i = 0; i < 23; i++) {
      const t0 = performance.now();
      const preview = await client.call('preview_mission', input);
      if (i >= 3) samples.push(performance.now() - t0);
      if (preview.targets.length !== N) throw new Error('preview lost targets');
    }
    rows.push({ metric: `preview_mission, ${N} targets on 3 continents, calling hours on (MCP round trip)`, p50: percentile(samples, 50), p99: percentile(samples, 99), unit: 'ms', target: '≤ 200 ms' });
  } finally {
    await client.close();
    await guarded.stop();
  }
  return rows;
}
