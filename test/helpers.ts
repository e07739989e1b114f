import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { CallToolResultSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { onTestFinished } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { startEngine } from '../src/engine/engine.js';
import { createLogger } from '../src/log.js';
import { createMcpServer } from '../src/mcp/server.js';
import { SimCarrier } from '../src/telephony/sim/carrier.js';
import type { Clock } from '../src/time.js';

/** A scratch directory that lives as long as the test that made it. */
export function tempDir(prefix = 'switchboard-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The guardrails tests do not test: suites run at any hour and dial the sim's dozen numbers many times, so calling
 * hours are off and the daily caps out of reach unless a test (test/guardrails.test.ts) sets them.
 */
export const UNGUARDED = { SWITCHBOARD_CALLING_HOURS: 'off', SWITCHBOARD_MAX_CALLS_PER_NUMBER_PER_DAY: '100000', SWITCHBOARD_MAX_SMS_PER_NUMBER_PER_DAY: '100000' };

/** Test defaults: a fresh store, the sim carrier at full speed, no spacing, sidecar on any free port, guardrails out of the way. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    SWITCHBOARD_DATA_DIR: overrides.SWITCHBOARD_DATA_DIR ?? tempDir(),
    SWITCHBOARD_HTTP_PORT: '0',
    SWITCHBOARD_SIM_TIME_SCALE: '0',
    SWITCHBOARD_MIN_CALL_SPACING_MS: '0',
    SWITCHBOARD_LOG_LEVEL: 'silent',
    ...UNGUARDED,
    ...overrides,
  };
}

export type Harness = {
  app: App;
  client: Client;
  updates: string[];
  /** Calls a tool and returns its structured content; throws with the error text on isError. */
  call<T = any>(name: string, args?: Record<string, unknown>): Promise<T>;
  /** Calls a tool expected to fail and returns its error text. */
  fail(name: string, args?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
};

/**
 * Which way the suites reach Switchboard: `embedded` (the default) links a real MCP Client to the app in memory;
 * `engine` (SWITCHBOARD_TEST_MODE=engine, the second vitest project) runs the engine and goes through `/mcp` over
 * Streamable HTTP with its bearer token, as a face or a remote client does. Spawned servers follow the same switch.
 */
export const TEST_MODE: 'embedded' | 'engine' = process.env.SWITCHBOARD_TEST_MODE === 'engine' ? 'engine' : 'embedded';

/** The real app and MCP server, with a real MCP Client over the transport TEST_MODE names. */
export async function startHarness(env: Record<string, string> = {}, opts: { listen?: boolean; clock?: Clock; client?: Client } = {}): Promise<Harness> {
  const config = loadConfig(testEnv(env));
  const client = opts.client ?? new Client({ name: 'test', version: '0' });
  const updates: string[] = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
  let app: App;
  let stopServer: () => Promise<void>;
  if (TEST_MODE === 'engine') {
    const engine = await startEngine(config, createLogger('silent'), { exitWhenIdle: false, clock: opts.clock });
    app = engine.app;
    stopServer = () => engine.stop('test finished');
    const headers = { authorization: `Bearer ${engine.token}` };
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', app.sidecar!.url), { requestInit: { headers }, fetch: freshConnectionFetch }));
  } else {
    app = await createApp(config, createLogger('silent'), { listen: opts.listen, clock: opts.clock });
    const mcp = createMcpServer(app);
    stopServer = async () => {
      await mcp.close();
      await app.stop();
    };
    const [clientT, serverT] = InMemoryTransport.createLinkedPair();
    await Promise.all([mcp.server.connect(serverT), client.connect(clientT)]);
  }

  const raw = (name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args }, CallToolResultSchema);
  return {
    app,
    client,
    updates,
    async call(name, args = {}) {
      const res = await raw(name, args);
      if (res.isError) throw new Error(`${name} failed: ${(res.content as { text: string }[])[0].text}`);
      return res.structuredContent as any;
    },
    async fail(name, args = {}) {
      const res = await raw(name, args);
      if (!res.isError) throw new Error(`${name} unexpectedly succeeded: ${JSON.stringify(res.structuredContent)}`);
      return (res.content as { text: string }[])[0].text;
    },
    async close() {
      await client.close();
      await stopServer();
    },
  };
}

/**
 * fetch over a new connection each time. Tests restart an engine on the same port at once, and the global pool's
 * kept-alive socket to the stopped one would fail the next request ("other side closed").
 */
async function freshConnectionFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const body = init.body === undefined || init.body === null ? undefined : String(init.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: Object.fromEntries(new Headers(init.headers).entries()), agent: false }, (res) => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      const stream = res.statusCode === 204 || res.statusCode === 202 ? null : (Readable.toWeb(res) as ReadableStream);
      resolve(new Response(stream, { status: res.statusCode, headers }));
    });
    req.on('error', reject);
    const abort = () => req.destroy(new Error('aborted'));
    init.signal?.addEventListener('abort', abort, { once: true });
    req.on('close', () => init.signal?.removeEventListener('abort', abort));
    req.end(body);
  });
}

/** The simulated phone network an app runs on, for what only the network does, such as a person texting in. */
export function simCarrier(app: App): SimCarrier {
  if (!(app.provider instanceof SimCarrier)) throw new Error(`this test needs the sim carrier, not ${app.provider.name}`);
  return app.provider;
}

/** Polls `probe` until it returns something truthy, and returns that. */
export async function until<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A port free right now on loopback, for a sidecar whose public URL must be known before it starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
