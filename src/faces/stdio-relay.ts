import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { isJSONRPCRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { findOrStartEngine } from './engine-client.js';

/**
 * `switchboard serve` in `auto` mode: a thin face. Every JSON-RPC frame from the MCP client goes to the engine's
 * `/mcp` as it is, and every frame back (responses, progress, resource updates) comes out on stdout. Closing the
 * face ends its MCP session and nothing else: calls, schedules and webhooks stay with the engine.
 */
export async function runStdioFace(config: Config, log: Logger): Promise<number> {
  const engine = await findOrStartEngine(config, log);
  const upstream = new StreamableHTTPClientTransport(new URL('/mcp', engine.url), {
    requestInit: { headers: { authorization: `Bearer ${engine.token}` } },
  });
  const downstream = new StdioServerTransport();

  upstream.onmessage = (message) => void downstream.send(message);
  downstream.onmessage = (message) => {
    upstream.send(message).catch((err: Error) => {
      log.error({ err }, 'the engine did not take a message');
      // A request must be answered, or the client waits for ever.
      if (isJSONRPCRequest(message)) void downstream.send(unreachable(message, engine.url, err));
    });
  };

  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  let closing = false;
  const close = async (reason: string) => {
    if (closing) return;
    closing = true;
    log.info({ reason }, 'face closing; the engine keeps running');
    await upstream.terminateSession().catch(() => undefined);
    await upstream.close().catch(() => undefined);
    await downstream.close().catch(() => undefined);
    log.flush();
    resolveExit(0);
  };
  process.once('SIGINT', () => void close('SIGINT'));
  process.once('SIGTERM', () => void close('SIGTERM'));
  process.stdin.once('end', () => void close('stdin closed'));
  process.stdin.once('close', () => void close('stdin closed'));
  downstream.onclose = () => void close('transport closed');

  await upstream.start();
  await downstream.start();
  log.info({ engine: engine.url, pid: engine.pid }, 'switchboard ready (attached to the engine)');
  return exited;
}

function unreachable(request: JSONRPCMessage & { id: string | number }, url: string, err: Error): JSONRPCMessage {
  return { jsonrpc: '2.0', id: request.id, error: { code: -32603, message: `The Switchboard engine at ${url} could not be reached (${err.message}); run \`switchboard status\`.` } };
}
