import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebhookRoute } from '../telephony/provider.js';
import type { MediaHub, MediaRoute } from '../voice/media-port.js';

/** Carrier webhooks are small; anything bigger is refused before it is buffered. */
export const MAX_BODY_BYTES = 64 * 1024;

export type Sidecar = {
  server: Server;
  url: string;
  /** Adds an endpoint once what serves it exists (MCP needs the app, which owns the sidecar). */
  mount(mount: Mount): void;
  close(): Promise<void>;
};

/** An endpoint that handles the request itself (streams, its own body handling), such as MCP at `/mcp`. */
export type Mount = { path: string; handle(req: IncomingMessage, res: ServerResponse): Promise<void> };

export type SidecarOptions = {
  host: string;
  port: number;
  log: Logger;
  routes: readonly WebhookRoute[];
  /** Carrier media WebSockets (live voice), and the hub that decides which sockets may join a call. */
  media?: { routes: readonly MediaRoute[]; hub: MediaHub };
  health: () => Record<string, unknown>;
  limits?: Partial<ConnectionLimits>;
};

/** How long a client may take and how many may connect, so slow or idle connections cannot pile up. */
export type ConnectionLimits = { headersTimeoutMs: number; requestTimeoutMs: number; idleTimeoutMs: number; maxConnections: number };

const DEFAULT_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  // Longer than carriers' own keep-alive, so they never send on a socket we are closing.
  idleTimeoutMs: 65_000,
  maxConnections: 1_000,
};

/** The HTTP listener beside the MCP server: health, carrier webhooks (and later media and dashboard). */
export async function startSidecar(opts: SidecarOptions): Promise<Sidecar> {
  const table = new Map(opts.routes.map((r) => [`${r.method} ${r.path}`, r]));
  const mounts = new Map<string, Mount>();
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  // The timeouts are enforced by a sweep; by default it runs every 30 s, far coarser than they are.
  const sweepMs = Math.max(10, Math.min(1000, limits.headersTimeoutMs / 2));
  const server = createServer({ headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs, connectionsCheckingInterval: sweepMs }, (req, res) => {
    handle(req, res).catch((err) => {
      opts.log.error({ err, path: req.url }, 'sidecar request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sidecar');
    if (req.method === 'GET' && url.pathname === '/healthz') {
      return sendJson(res, 200, opts.health());
    }
    const mount = mounts.get(url.pathname);
    if (mount) return mount.handle(req, res);
    const route = table.get(`${req.method} ${url.pathname}`);
    if (!route) return sendJson(res, 404, { error: 'not found' });
    const rawBody = await readBody(req);
    if (rawBody === null) return sendJson(res, 413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
    const out = await route.handle({ path: url.pathname, query: url.searchParams, headers: req.headers, rawBody });
    send(res, out.status, out.contentType ?? 'text/plain', out.body ?? '');
  }

  // Media frames are 20 ms of audio (a few hundred bytes); nothing a carrier sends comes near this.
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false, skipUTF8Validation: true });
  const mediaRoutes = new Map((opts.media?.routes ?? []).map((r) => [r.path, r]));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const route = mediaRoutes.get(new URL(req.url ?? '/', 'http://sidecar').pathname);
    if (!route || !opts.media) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const hub = opts.media.hub;
    sockets.handleUpgrade(req, socket, head, (ws) => route.open(ws, req, hub));
  });

  server.keepAliveTimeout = limits.idleTimeoutMs;
  server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    server,
    url: `http://${host}:${port}`,
    mount: (m) => void mounts.set(m.path, m),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        // Upgraded sockets are no longer the HTTP server's to close.
        for (const ws of sockets.clients) ws.terminate();
        sockets.close();
      }),
  };
}

/** The request body, or null (the rest unread) when it is larger than `maxBytes`. */
export function readBody(req: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes) {
      req.resume();
      return resolve(null);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > maxBytes ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', JSON.stringify(value));
}
