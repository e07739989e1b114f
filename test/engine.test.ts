import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request as httpRequest, type ServerResponse } from 'node:http';
import Database from 'better-sqlite3';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config.js';
import { isAlive } from '../src/data-dir.js';
import { createApp } from '../src/app.js';
import { startEngine, type Engine } from '../src/engine/engine.js';
import { createMcpHttp } from '../src/mcp/http.js';
import { createLogger } from '../src/log.js';
import { startHarness, testEnv, until } from './helpers.js';
import { CLI, enginePid, spawnServer, stopEngineAtEnd } from './spawn.js';

const cli = (args: string[], env: Record<string, string>) => spawnSync(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 });
const faceEnv = (overrides: Record<string, string> = {}) => testEnv({ SWITCHBOARD_ENGINE: 'auto', ...overrides });

/** `switchboard engine` in the foreground, as systemd would run it; ended by the test. */
async function foregroundEngine(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'engine'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
  await until(() => cli(['status'], env).status === 0, 'the engine to answer status');
  stopEngineAtEnd(env.SWITCHBOARD_DATA_DIR);
  return child;
}

describe('faces on one engine', () => {
  it('a face that closes right after initiate_call leaves the call to finish; a later face sees it completed', async () => {
    const env = faceEnv({ SWITCHBOARD_SIM_TIME_SCALE: '0.05' });
    const first = await spawnServer(env);
    const { call_id } = await first.call('initiate_call', { to: '+15550100001', insight_schema: { type: 'object', properties: { price_per_square: {} } } });
    await first.close(); // mcporter and the Inspector CLI do exactly this

    const later = await spawnServer(env);
    try {
      expect(await later.call('wait_for_calls', { call_ids: [call_id], timeout_seconds: 20 })).toMatchObject({ done: true });
      expect(await later.call('get_call', { call_id })).toMatchObject({ status: 'completed', fields: { price_per_square: '$450' } });
    } finally {
      await later.close();
    }
  });

  it('a face started while an embedded server runs attaches to it', async () => {
    const env = testEnv();
    const embedded = await spawnServer({ ...env, SWITCHBOARD_ENGINE: 'embedded' });
    const face = await spawnServer({ ...env, SWITCHBOARD_ENGINE: 'auto' });
    try {
      await embedded.call('create_mission', { name: 'Shared', instructions: 'x' });
      expect((await face.call('get_mission', { mission_id: 'shared' })).status).toBe('active');
    } finally {
      await face.close();
      await embedded.close();
    }
  });

  it('two faces placing calls at the same time still get the configured spacing between call starts', async () => {
    const env = faceEnv({ SWITCHBOARD_MIN_CALL_SPACING_MS: '300' });
    const faces = [await spawnServer(env), await spawnServer(env)];
    try {
      const placed = await Promise.all(faces.flatMap((face) => [0, 1, 2].map(() => face.call('initiate_call', { to: '+15550100008', mode: 'notify', message: 'Your order is ready.' }))));
      const ids = placed.map((c) => c.call_id);
      expect(await faces[0].call('wait_for_calls', { call_ids: ids, timeout_seconds: 30 })).toMatchObject({ done: true });
      const starts = (await Promise.all(ids.map((call_id) => faces[1].call('get_call', { call_id })))).map((c) => Date.parse(c.attempts[0].started_at)).sort((a, b) => a - b);
      for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBeGreaterThanOrEqual(290);
    } finally {
      for (const face of faces) await face.close();
    }
  });
});

describe('the engine process', () => {
  it('a second engine on the same data dir refuses, naming the running one', async () => {
    const env = testEnv();
    const first = await foregroundEngine(env);
    const second = cli(['engine'], env);
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`another Switchboard engine already runs for .* \\(pid ${first.pid}, http://127\\.0\\.0\\.1:\\d+\\)`));
  });

  it('status says what runs; stop ends it cleanly; status then says none runs', async () => {
    const env = faceEnv();
    const face = await spawnServer(env);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    const { call_id } = await face.call('initiate_call', { to: '+15550100008', mode: 'notify', message: 'Reminder', scheduled_at: tomorrow });
    await face.call('create_mission', { name: 'Quotes', instructions: 'compare roofers' });

    const status = cli(['status'], env);
    expect(status.status).toBe(0);
    const pid = enginePid(env.SWITCHBOARD_DATA_DIR)!;
    expect(status.stdout).toMatch(new RegExp(`engine +pid ${pid}, http://127\\.0\\.0\\.1:\\d+ \\(MCP at .*/mcp\\)`));
    expect(status.stdout).toMatch(/faces attached +1/);
    expect(status.stdout).toMatch(/live calls +0/);
    expect(status.stdout).toMatch(new RegExp(`next scheduled +call ${call_id} at ${tomorrow.slice(0, 16)}`));
    expect(status.stdout).toMatch(/active missions +1/);
    await face.close();

    const stop = cli(['stop'], env);
    expect(stop.stdout).toMatch(new RegExp(`Stopped the engine \\(pid ${pid}\\)`));
    expect(isAlive(pid)).toBe(false);
    expect(cli(['status'], env).status).toBe(1);
  });

  it('an engine a face started stays up while work is scheduled, fires it on time, then exits once idle', async () => {
    const env = faceEnv({ SWITCHBOARD_ENGINE_IDLE_SECONDS: '1' });
    const face = await spawnServer(env);
    const due = Date.now() + 2_500;
    const { call_id } = await face.call('initiate_call', { to: '+15550100008', mode: 'notify', message: 'Your table is ready.', scheduled_at: new Date(due).toISOString() });
    const pid = enginePid(env.SWITCHBOARD_DATA_DIR)!;
    await face.close();

    const db = new Database(join(env.SWITCHBOARD_DATA_DIR, 'switchboard.db'), { readonly: true });
    try {
      const call = () => db.prepare('SELECT status, (SELECT started_at FROM call_attempts WHERE call_id = calls.id) AS started_at FROM calls WHERE id = ?').get(call_id) as { status: string; started_at: string | null };
      await until(() => call().status === 'completed', 'the scheduled call to be placed and finish, with no face attached', 15_000);
      expect(Date.parse(call().started_at!)).toBeGreaterThanOrEqual(due - 50);
      expect(Date.parse(call().started_at!) - due).toBeLessThan(2_000);
    } finally {
      db.close();
    }
    await until(() => !isAlive(pid), 'the idle engine to exit', 15_000);
    expect(cli(['status'], env).status).toBe(1);
  });
});

describe('/mcp over Streamable HTTP', () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.stop('test finished');
    engine = undefined;
  });
  const start = async () => (engine = await startEngine(loadConfig(testEnv()), createLogger('silent'), { exitWhenIdle: false }));
  const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } };

  /** A raw POST, so a test may set any Host or Origin. */
  function post(url: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; session: string | undefined }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, session: res.headers['mcp-session-id'] as string | undefined });
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }

  it('needs the bearer token, and refuses a foreign Origin or Host', async () => {
    const { app, token } = await start();
    const url = `${app.sidecar!.url}/mcp`;
    const bearer = { authorization: `Bearer ${token}` };
    expect((await post(url, {}, initialize)).status).toBe(401);
    expect((await post(url, { authorization: 'Bearer not-the-token' }, initialize)).status).toBe(401);
    expect((await post(url, { ...bearer, origin: 'http://evil.example' }, initialize)).status).toBe(403);
    expect((await post(url, { ...bearer, host: 'evil.example:80' }, initialize)).status).toBe(403);
    const ok = await post(url, bearer, initialize);
    expect(ok.status).toBe(200);
    expect(ok.session).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('closes a session its client left without ending it, once nothing of it has been open for a while', async () => {
    const app = await createApp(loadConfig(testEnv()), createLogger('silent'), { listen: true });
    const host = new URL(app.sidecar!.url).host;
    const mcp = createMcpHttp(app, { token: 'a-test-token-of-20-chars', allowedHosts: [host], allowedOrigins: [], sessionIdleMs: 100 });
    app.sidecar!.mount(mcp.mount);
    try {
      const bearer = { authorization: 'Bearer a-test-token-of-20-chars' };
      const { session } = await post(`${app.sidecar!.url}/mcp`, bearer, initialize);
      const list = () => post(`${app.sidecar!.url}/mcp`, { ...bearer, 'mcp-session-id': session! }, { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
      expect((await list()).status).toBe(200);
      // Asking would keep it alive: leave it alone for several idle periods, then look once.
      await new Promise((r) => setTimeout(r, 600));
      expect((await list()).status).toBe(404);
    } finally {
      await mcp.close();
      await app.stop();
    }
  });

  it('writes a tool\'s answer the moment it has it, behind the priming event of protocol 2025-11-25, with no timer in between', async () => {
    // The SDK's Node transport (through @hono/node-server) held every such answer for a setTimeout: ~1.2 ms per call.
    const { app, token } = await start();
    const { mission } = app.missions.create({ name: 'Quotes', instructions: 'compare roofers' });
    const url = `${app.sidecar!.url}/mcp`;
    const version = '2025-11-25';
    const headers = { authorization: `Bearer ${token}`, 'mcp-protocol-version': version };
    const { session } = await post(url, headers, { ...initialize, params: { ...initialize.params, protocolVersion: version } });
    const realSetTimeout = globalThis.setTimeout;
    vi.useFakeTimers({ toFake: ['setTimeout'] }); // a timer on the answer's path would never fire now
    try {
      const events = await new Promise<string>((resolve, reject) => {
        const req = httpRequest(url, { method: 'POST', headers: { ...headers, 'mcp-session-id': session!, 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk) => (text += chunk)).on('end', () => resolve(text));
        });
        req.on('error', reject);
        realSetTimeout(() => req.destroy(new Error('the answer waited on a timer')), 5_000).unref();
        req.end(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'get_mission', arguments: { mission_id: mission.mission_id } } }));
      });
      expect(events).toMatch(/^id: \S+\ndata: \n\n/); // the priming event: this stream can be resumed
      const answer = JSON.parse(/^data: (\{.*)$/m.exec(events)![1]);
      expect(answer).toMatchObject({ id: 2, result: { structuredContent: { mission_id: mission.mission_id } } });
    } finally {
      vi.useRealTimers();
    }
  });

  it('a client whose event stream dropped gets the notifications it missed when it reconnects', async () => {
    const { app, token } = await start();
    const streams: ServerResponse[] = [];
    app.sidecar!.server.on('request', (req, res) => req.method === 'GET' && req.url === '/mcp' && streams.push(res));
    const client = new Client({ name: 'resumer', version: '0' });
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    const transport = new StreamableHTTPClientTransport(new URL('/mcp', app.sidecar!.url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
      reconnectionOptions: { initialReconnectionDelay: 200, maxReconnectionDelay: 500, reconnectionDelayGrowFactor: 1, maxRetries: 5 },
    });
    await client.connect(transport);
    const { mission } = app.missions.create({ name: 'Quotes', instructions: 'compare roofers' });
    const uri = `switchboard://missions/${mission.mission_id}`;
    await client.subscribeResource({ uri });
    await until(() => streams.length === 1, 'the event stream to open');
    app.missions.saveMemory(mission.mission_id, 'first', 1);
    await until(() => updates.length === 1, 'the first update');

    streams[0].socket!.destroy(); // the network drops the stream
    app.missions.saveMemory(mission.mission_id, 'while-away', 2);
    await until(() => updates.length === 2, 'the update sent while the stream was down, replayed after Last-Event-ID');
    expect(streams.length).toBe(2);
    await client.close();
  });
});

describe('MCP niceties', () => {
  it('declares logging (logging/setLevel works) and answers a subscription to an unknown URI with invalid params', async () => {
    const h = await startHarness();
    try {
      expect(h.client.getServerCapabilities()?.logging).toEqual({});
      await expect(h.client.setLoggingLevel('warning')).resolves.toEqual({});
      await expect(h.client.subscribeResource({ uri: 'switchboard://nothing/here' })).rejects.toMatchObject({ code: ErrorCode.InvalidParams });
      await expect(h.client.subscribeResource({ uri: 'switchboard://calls/call_missing' })).rejects.toMatchObject({ code: ErrorCode.InvalidParams });
    } finally {
      await h.close();
    }
  });
});
