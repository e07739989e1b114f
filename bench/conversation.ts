import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { createMcpServer } from '../src/mcp/server.js';
import { percentile, tempDir, time, UNGUARDED, type Row } from './util.js';

const PERSON = '+15550107101';

/**
 * A conversation turn as the client sees it: continue_call with a question, on sim at time scale 0, so the person
 * answers at once and the whole round trip (MCP, speaking, the person, hearing, the store) is our own overhead.
 */
export async function benchConversation(turns = 2_000): Promise<Row[]> {
  const dataDir = tempDir();
  const directory = join(dataDir, 'people.json');
  writeFileSync(directory, JSON.stringify({ [PERSON]: { name: 'Bench Roofing', ring_seconds: 0, facts: { price_per_square: '$450' } } }));
  const config = loadConfig({ SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_SIM_TIME_SCALE: '0', SWITCHBOARD_SIM_DIRECTORY: directory, SWITCHBOARD_MIN_CALL_SPACING_MS: '0', SWITCHBOARD_HTTP_PORT: '0', SWITCHBOARD_CONVERSATION_HOLD_SECONDS: '600', SWITCHBOARD_CONVERSATION_GOODBYE_SECONDS: '3600', SWITCHBOARD_MAX_CALL_SECONDS: '14400', ...UNGUARDED });
  const app = await createApp(config, createLogger('warn'));
  const mcp = createMcpServer(app);
  const client = new Client({ name: 'bench', version: '0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([mcp.server.connect(b), client.connect(a)]);
  try {
    const placed = await client.callTool({ name: 'initiate_call', arguments: { to: PERSON, mode: 'conversation', message: 'Hello, a quick question about your prices.' } });
    const callId = (placed.structuredContent as { call_id: string }).call_id;
    await client.callTool({ name: 'continue_call', arguments: { call_id: callId, timeout_seconds: 1 } });
    const samples = await time(turns, async () => {
      const res = await client.callTool({ name: 'continue_call', arguments: { call_id: callId, message: 'What is your price per square?' } });
      if ((res.structuredContent as { heard: string | null }).heard !== '$450') throw new Error(`unexpected turn: ${JSON.stringify(res.structuredContent)}`);
    });
    await client.callTool({ name: 'end_call', arguments: { call_id: callId } });
    return [{ metric: `continue_call round trip on sim, time scale 0 (${turns} turns on one call)`, p50: percentile(samples, 50), p99: percentile(samples, 99), unit: 'ms', target: 'p50 ≤ 5 ms' }];
  } finally {
    await client.close();
    await mcp.close();
    await app.stop();
  }
}

// `node --import tsx bench/conversation.ts`: only this bench.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import('./util.js');
  printTable(await benchConversation());
}
