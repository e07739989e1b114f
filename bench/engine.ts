import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Changes } from '../src/changes.js';
import { Missions } from '../src/missions/missions.js';
import { openStore } from '../src/store/database.js';
import { Store } from '../src/store/store.js';
import { CLI, connect, serverMemory } from './stdio.js';
import { percentile, tempDir, time, type Row } from './util.js';

const PATH = process.env.PATH ?? '';

/**
 * The engine and its faces: a face's cold start against a running engine beside the official memory server, the
 * round-trip a face adds over the embedded server on the same store, and /mcp requests per second.
 */
export async function benchEngine(): Promise<Row[]> {
  const dataDir = tempDir();
  const slugs = seedMissions(dataDir, 2_000);
  const env = (engine: 'auto' | 'embedded') => ({ PATH, SWITCHBOARD_ENGINE: engine, SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_HTTP_PORT: '0', SWITCHBOARD_LOG_LEVEL: 'warn' });
  const getMission = (client: Client) => (i: number) => client.callTool({ name: 'get_mission', arguments: { mission_id: slugs[(i * 7919) % slugs.length] } });

  const embedded = await connect({ args: [CLI, 'serve'], env: env('embedded') });
  const viaEmbedded = await time(2000, getMission(embedded.client));
  await embedded.client.close();

  const engine = spawn(process.execPath, [CLI, 'engine'], { env: env('auto'), stdio: 'ignore' });
  try {
    await waitFor(() => spawnSync(process.execPath, [CLI, 'status'], { env: env('auto') }).status === 0);
    const starts = { face: [] as number[], serverMemory: [] as number[] };
    for (let i = 0; i < 15; i++) {
      for (const [side, server] of [['face', () => ({ args: [CLI, 'serve'], env: env('auto') })], ['serverMemory', () => serverMemory(tempDir())]] as const) {
        const { client, startMs } = await connect(server());
        starts[side].push(startMs);
        await client.close();
      }
    }
    const face = await connect({ args: [CLI, 'serve'], env: env('auto') });
    const viaFace = await time(2000, getMission(face.client));
    await face.client.close();
    const direct = await httpClient(dataDir);
    const viaHttp = await time(2000, getMission(direct));
    await direct.close();
    const perSecond = await mcpThroughput(dataDir, 8, 4_000);

    return [
      { metric: 'face cold start, engine running: spawn → initialize answered', p50: percentile(starts.face, 50), p99: percentile(starts.face, 99), unit: 'ms', target: '—' },
      { metric: 'server-memory cold start, same run, same method', p50: percentile(starts.serverMemory, 50), p99: percentile(starts.serverMemory, 99), unit: 'ms', target: '—' },
      { metric: 'face cold start ratio, face / server-memory (p50)', value: percentile(starts.face, 50) / percentile(starts.serverMemory, 50), unit: '×', target: '≤ 0.5' },
      { metric: 'get_mission round-trip, embedded serve (2k missions)', p50: percentile(viaEmbedded, 50), p99: percentile(viaEmbedded, 99), unit: 'ms', target: '—' },
      { metric: 'get_mission round-trip through a face to the engine', p50: percentile(viaFace, 50), p99: percentile(viaFace, 99), unit: 'ms', target: '—' },
      { metric: 'get_mission round-trip, SDK client straight to /mcp', p50: percentile(viaHttp, 50), p99: percentile(viaHttp, 99), unit: 'ms', target: '—' },
      { metric: 'round-trip a face adds over embedded (p50)', value: percentile(viaFace, 50) - percentile(viaEmbedded, 50), unit: 'ms', target: '≤ 0.5 ms' },
      { metric: 'of which the face itself (face − straight to /mcp, p50)', value: percentile(viaFace, 50) - percentile(viaHttp, 50), unit: 'ms', target: '—' },
      { metric: '/mcp tools/call list_assistants, 8 sessions in parallel', value: perSecond, unit: 'req/s', target: '—' },
    ];
  } finally {
    engine.kill('SIGTERM');
    await new Promise((resolve) => engine.on('exit', resolve));
  }
}

function seedMissions(dataDir: string, n: number): string[] {
  const store = new Store(openStore(dataDir), new Changes());
  const missions = new Missions(store);
  const slugs: string[] = [];
  store.tx(() => {
    for (let i = 0; i < n; i++) slugs.push(missions.create({ name: `Mission ${i % 200}`, instructions: 'bench', steps: [{ step_id: 'a', description: 'a' }] }).mission.slug);
  });
  store.close();
  return slugs;
}

/** An MCP client on the engine's /mcp, as a remote client connects. */
async function httpClient(dataDir: string): Promise<Client> {
  const { url } = JSON.parse(readFileSync(join(dataDir, 'engine.lock'), 'utf8')) as { url: string };
  const token = readFileSync(join(dataDir, 'http-token'), 'utf8').trim();
  const client = new Client({ name: 'bench', version: '0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

/** Sessions straight to /mcp, each calling as fast as answers come, for `ms`. */
async function mcpThroughput(dataDir: string, sessions: number, ms: number): Promise<number> {
  const clients = await Promise.all(Array.from({ length: sessions }, () => httpClient(dataDir)));
  let done = 0;
  const end = Date.now() + ms;
  const t0 = performance.now();
  await Promise.all(clients.map(async (client) => {
    while (Date.now() < end) {
      await client.callTool({ name: 'list_assistants', arguments: {} });
      done++;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(clients.map((c) => c.close()));
  return done / seconds;
}

async function waitFor(probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error('the engine did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}
