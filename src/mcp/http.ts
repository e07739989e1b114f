import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { App } from '../app.js';
import { hasBearer } from '../http/auth.js';
import { readBody, sendJson, type Mount } from '../http/server.js';
import { BoundedEventStore } from './event-store.js';
import { MCP_MAX_BODY_BYTES, serveWeb } from './node-bridge.js';
import { createMcpServer } from './server.js';

export const MCP_PATH = '/mcp';

type Session = { transport: WebStandardStreamableHTTPServerTransport; close(): Promise<void>; inFlight: number; lastActive: number };

/** A session with nothing open for this long is closed: its client went away without ending it (a kill -9). */
const SESSION_IDLE_MS = 30 * 60 * 1000;

export type McpHttp = {
  mount: Mount;
  /** Sessions with a request or stream open right now: the faces and clients attached. */
  attached(): number;
  close(): Promise<void>;
};

/**
 * MCP over Streamable HTTP: one MCP server instance per session (`Mcp-Session-Id`), each with its own
 * subscriptions, resumable SSE through an event store. Every request needs the bearer token; the Host and
 * Origin must be ours, so a web page cannot reach a loopback engine through DNS rebinding. Each session is the SDK's
 * Streamable HTTP transport in its web-standard form, served through `serveWeb` (see there why not its Node wrapper).
 */
export function createMcpHttp(app: App, opts: { token: string; allowedHosts: string[]; allowedOrigins: string[]; sessionIdleMs?: number }): McpHttp {
  const sessions = new Map<string, Session>();
  const idleMs = opts.sessionIdleMs ?? SESSION_IDLE_MS;
  // Each session's MCP server listens to every change; one left behind would cost on every change for ever.
  const sweep = setInterval(() => {
    for (const session of sessions.values()) if (session.inFlight === 0 && Date.now() - session.lastActive > idleMs) void session.transport.close();
  }, Math.min(60_000, idleMs)).unref();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = req.headers.host ?? '';
    const origin = req.headers.origin;
    if (!opts.allowedHosts.includes(host)) return refuse(res, 403, `Host ${JSON.stringify(host)} is not this engine's; DNS rebinding is refused.`);
    if (origin !== undefined && !opts.allowedOrigins.includes(origin)) return refuse(res, 403, `Origin ${JSON.stringify(origin)} may not use this engine.`);
    if (!hasBearer(req, opts.token)) {
      res.setHeader('www-authenticate', 'Bearer');
      return refuse(res, 401, 'A bearer token is required: the one in SWITCHBOARD_HTTP_TOKEN, or in the data dir\'s http-token file.');
    }
    const id = req.headers['mcp-session-id'];
    const existing = typeof id === 'string' ? sessions.get(id) : undefined;
    if (existing) return track(existing, res, () => serveWeb(existing.transport, req, res));
    if (id !== undefined) return refuse(res, 404, 'Unknown or ended MCP session; initialize a new one.');
    if (req.method !== 'POST') return refuse(res, 400, 'Start a session with an initialize request (POST).');
    const body = await readJson(req);
    if (!isInitializeRequest(body)) return refuse(res, 400, 'Start a session with an initialize request.');
    const session = openSession();
    return track(session, res, () => serveWeb(session.transport, req, res, body));
  }

  function openSession(): Session {
    const mcp = createMcpServer(app);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new BoundedEventStore(),
      onsessioninitialized: (sid) => void sessions.set(sid, session),
      onsessionclosed: (sid) => void sessions.delete(sid),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
      void mcp.close();
    };
    const session: Session = { transport, inFlight: 0, lastActive: Date.now(), close: () => mcp.close() };
    void mcp.server.connect(transport);
    return session;
  }

  // A session counts as attached while one of its requests or streams is open.
  async function track(session: Session, res: ServerResponse, run: () => Promise<void>): Promise<void> {
    session.inFlight++;
    res.once('close', () => {
      session.inFlight--;
      session.lastActive = Date.now();
    });
    await run();
  }

  return {
    mount: { path: MCP_PATH, handle },
    attached: () => [...sessions.values()].filter((s) => s.inFlight > 0).length,
    close: async () => {
      clearInterval(sweep);
      await Promise.all([...sessions.values()].map((s) => s.close()));
      sessions.clear();
    },
  };
}

function refuse(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code: -32000, message }, id: null });
}

/** The initialize request's body (MCP requests are small: a bigger one is not read). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req, MCP_MAX_BODY_BYTES);
  try {
    return body && JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
