import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { startEngine } from '../engine/engine.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { createMcpServer } from '../mcp/server.js';

/**
 * `switchboard serve` with SWITCHBOARD_ENGINE=embedded: the whole engine inside this process, MCP on stdio as well as
 * at `/mcp` (so a face started meanwhile attaches to it); it stops, live calls with it, on SIGINT, SIGTERM or stdin closing.
 */
export async function runEmbedded(config: Config, log: Logger): Promise<number> {
  if (config.SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY) {
    log.warn('SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY is on: carrier webhooks are NOT authenticated. Never use this on a public URL.');
  }
  const engine = await startEngine(config, log, { exitWhenIdle: false });
  const { app } = engine;
  const mcp = createMcpServer(app);
  const transport = new StdioServerTransport();

  let resolveExit: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  let stopping = false;
  const shutdown = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    await mcp.close().catch(() => undefined);
    await engine.stop(reason);
    log.flush();
    resolveExit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.stdin.once('end', () => void shutdown('stdin closed'));
  process.stdin.once('close', () => void shutdown('stdin closed'));
  transport.onclose = () => void shutdown('transport closed');

  try {
    await mcp.server.connect(transport);
  } catch (err) {
    await engine.stop('stdio failed');
    throw err;
  }
  log.info({ provider: app.provider.name, data_dir: config.SWITCHBOARD_DATA_DIR, sidecar: app.sidecar?.url }, 'switchboard ready');
  return exited;
}
