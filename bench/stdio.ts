import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Changes } from '../src/changes.js';
import { Missions } from '../src/missions/missions.js';
import { openStore } from '../src/store/database.js';
import { Store } from '../src/store/store.js';
import { percentile, tempDir, time, type Row } from './util.js';

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
// The reference: the official memory server, a small stdio server on the same SDK.
const SERVER_MEMORY = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-memory/dist/index.js');
const PATH = process.env.PATH ?? '';
const switchboard = (dataDir: string) => ({ args: [CLI, 'serve'], env: { PATH, SWITCHBOARD_ENGINE: 'embedded', SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_HTTP_PORT: '0', SWITCHBOARD_LOG_LEVEL: 'warn' } });
export const serverMemory = (dataDir: string) => ({ args: [SERVER_MEMORY], env: { PATH, MEMORY_FILE_PATH: join(dataDir, 'memory.jsonl') } });

/** Spawns a stdio server and connects a client: the time is spawn → initialize answered. */
export async function connect({ args, env }: { args: string[]; env: Record<string, string> }) {
  const transport = new StdioClientTransport({ command: process.execPath, args, env, stderr: 'ignore' });
  const client = new Client({ name: 'bench', version: '0' });
  const t0 = performance.now();
  await client.connect(transport);
  return { client, transport, startMs: performance.now() - t0 };
}

/** Cold start beside the reference server, then tool round-trips against a store holding 10,000 missions. */
export async function benchStdio(): Promise<Row[]> {
  const starts = { switchboard: [] as number[], serverMemory: [] as number[] };
  // Alternated, so both servers start under the same load on a shared machine.
  for (let i = 0; i < 15; i++) {
    for (const [side, server] of [['switchboard', switchboard], ['serverMemory', serverMemory]] as const) {
      const { client, startMs } = await connect(server(tempDir()));
      starts[side].push(startMs);
      await client.close();
    }
  }

  const dataDir = tempDir();
  const store = new Store(openStore(dataDir), new Changes());
  const missions = new Missions(store);
  const slugs: string[] = [];
  store.tx(() => {
    for (let i = 0; i < 10_000; i++) {
      const { mission } = missions.create({ name: `Mission ${i % 500}`, instructions: 'bench', steps: [{ step_id: 'a', description: 'a' }, { step_id: 'b', description: 'b' }] });
      slugs.push(mission.slug);
    }
  });
  store.close();

  const { client, transport } = await connect(switchboard(dataDir));
  const get = await time(2000, (i) => client.callTool({ name: 'get_mission', arguments: { mission_id: slugs[(i * 7919) % slugs.length] } }));
  const create = await time(2000, (i) => client.callTool({ name: 'create_mission', arguments: { name: `Bench ${i % 500}`, instructions: 'x', steps: [{ step_id: 'a', description: 'a' }] } }));
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${transport.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  await client.close();

  return [
    { metric: 'cold start, embedded serve: spawn → initialize answered', p50: percentile(starts.switchboard, 50), p99: percentile(starts.switchboard, 99), unit: 'ms', target: '< 400 ms' },
    { metric: 'cold start of @modelcontextprotocol/server-memory, same method', p50: percentile(starts.serverMemory, 50), p99: percentile(starts.serverMemory, 99), unit: 'ms', target: '—' },
    { metric: 'cold start ratio, embedded serve / server-memory (p50)', value: percentile(starts.switchboard, 50) / percentile(starts.serverMemory, 50), unit: '×', target: '≤ 1.0' },
    { metric: 'get_mission round-trip (10k missions stored)', p50: percentile(get, 50), p99: percentile(get, 99), unit: 'ms', target: 'p50 < 2, p99 < 10' },
    { metric: 'create_mission round-trip (10k+ stored)', p50: percentile(create, 50), p99: percentile(create, 99), unit: 'ms', target: 'p50 < 2, p99 < 10' },
    { metric: 'server RSS after 4,200 tool calls, 12k missions stored', value: rss, unit: 'MiB', target: '—' },
  ];
}
