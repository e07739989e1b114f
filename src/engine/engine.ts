import type { IncomingMessage, ServerResponse } from 'node:http';
import { createApp, type App } from '../app.js';
import type { Config } from '../config.js';
import { httpToken } from '../data-dir.js';
import { hasBearer } from '../http/auth.js';
import { sendJson } from '../http/server.js';
import type { Logger } from '../log.js';
import type { Clock } from '../time.js';
import { createMcpHttp, type McpHttp } from '../mcp/http.js';

export const CONTROL_PATH = '/engine';

/** What `switchboard status` shows. */
export type EngineStatus = {
  pid: number;
  url: string;
  started_at: string;
  uptime_seconds: number;
  faces: number;
  live_calls: number;
  next_scheduled: { kind: string; ref_id: string; due_at: string } | null;
  active_missions: number;
};

export type Engine = { app: App; mcp: McpHttp; token: string; status(): EngineStatus; stop(reason: string): Promise<void>; stopped: Promise<void> };

/**
 * The long-lived process that owns a data dir: the app (scheduler, calls, webhooks) plus MCP over Streamable HTTP
 * at `/mcp` and a small control endpoint for `status` and `stop`. With `exitWhenIdle` (an engine a face started) it
 * ends itself once nobody is attached, no call is live and nothing is scheduled, for the configured time.
 */
export async function startEngine(config: Config, log: Logger, opts: { exitWhenIdle: boolean; clock?: Clock }): Promise<Engine> {
  const app = await createApp(config, log, { listen: true, clock: opts.clock });
  const sidecar = app.sidecar!;
  const token = httpToken(config.SWITCHBOARD_DATA_DIR, config.SWITCHBOARD_HTTP_TOKEN);
  const mcp = createMcpHttp(app, { token, ...allowedPeers(sidecar.url, config.SWITCHBOARD_PUBLIC_URL) });
  sidecar.mount(mcp.mount);
  const startedAt = new Date();

  const status = (): EngineStatus => ({
    pid: process.pid,
    url: sidecar.url,
    started_at: startedAt.toISOString(),
    uptime_seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    faces: mcp.attached(),
    live_calls: app.calls.liveCount(),
    next_scheduled: app.scheduler.next(),
    active_missions: app.missions.count('active'),
  });

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = (reason: string) =>
    (stopping ??= (async () => {
      log.info({ reason }, 'engine stopping');
      clearInterval(idleTimer);
      await mcp.close();
      await app.stop();
      resolveStopped();
    })());

  sidecar.mount({
    path: CONTROL_PATH,
    async handle(req: IncomingMessage, res: ServerResponse) {
      if (!hasBearer(req, token)) return sendJson(res, 401, { error: 'bearer token required' });
      if (req.method === 'GET') return sendJson(res, 200, status());
      if (req.method === 'POST') {
        sendJson(res, 202, { stopping: true });
        void stop('switchboard stop');
        return;
      }
      sendJson(res, 405, { error: 'GET for status, POST to stop' });
    },
  });

  // Only an engine a face started watches for idleness; one run by hand or by systemd stays up.
  const idleTimer = opts.exitWhenIdle ? watchIdleness() : undefined;
  function watchIdleness(): NodeJS.Timeout {
    const idleMs = config.SWITCHBOARD_ENGINE_IDLE_SECONDS * 1000;
    let idleSince = Date.now();
    return setInterval(() => {
      // Only what keeps an engine up is looked at, not the whole status.
      if (mcp.attached() > 0 || app.calls.liveCount() > 0 || app.scheduler.next()) idleSince = Date.now();
      else if (Date.now() - idleSince >= idleMs) void stop(`idle for ${config.SWITCHBOARD_ENGINE_IDLE_SECONDS} s with no client, no live call and nothing scheduled`);
    }, Math.min(5_000, Math.max(100, idleMs / 4))).unref();
  }

  // Only now do faces find it: a face that found the URL earlier would have met a 404 at /mcp.
  app.publish();
  log.info({ url: sidecar.url, mcp: `${sidecar.url}/mcp`, data_dir: config.SWITCHBOARD_DATA_DIR }, 'engine ready');
  return { app, mcp, token, status, stop, stopped };
}

/** `switchboard engine`: runs in the foreground until SIGINT, SIGTERM, `switchboard stop` or (started by a face) idleness. */
export async function runEngine(config: Config, log: Logger, opts: { exitWhenIdle: boolean }): Promise<number> {
  const engine = await startEngine(config, log, opts);
  process.once('SIGINT', () => void engine.stop('SIGINT'));
  process.once('SIGTERM', () => void engine.stop('SIGTERM'));
  await engine.stopped;
  log.flush();
  return 0;
}

/** Who may call `/mcp`: this listener by its loopback names, and the public origin when there is one. */
function allowedPeers(url: string, publicUrl: string | undefined): { allowedHosts: string[]; allowedOrigins: string[] } {
  const { port, hostname } = new URL(url);
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${hostname}:${port}`]);
  const origins = new Set([...hosts].map((h) => `http://${h}`));
  if (publicUrl) {
    hosts.add(new URL(publicUrl).host);
    origins.add(new URL(publicUrl).origin);
  }
  return { allowedHosts: [...hosts], allowedOrigins: [...origins] };
}
