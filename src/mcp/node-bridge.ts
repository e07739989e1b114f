import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { readBody } from '../http/server.js';

/** The largest MCP request body read, the SDK's own bound (4 MiB). */
export const MCP_MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Serves one Node request with the SDK's web-standard Streamable HTTP transport (its public `handleRequest(Request)
 * → Response`), writing each event of the answer the moment the transport produces it.
 *
 * Why not the SDK's Node `StreamableHTTPServerTransport`: it goes through `@hono/node-server`, which reads up to three
 * chunks of a streamed body before sending the headers, so it can set Content-Length on short bodies. When the second
 * chunk is not there yet it waits for a `setTimeout` (≥ 1 ms in Node). Protocol 2025-11-25 with an event store puts a
 * priming event first on every POST stream, so every tool answer that takes longer than a couple of microtasks —
 * that is, any real one — paid that timer before a single byte left: ~1.2 ms per tool call.
 */
export async function serveWeb(transport: WebStandardStreamableHTTPServerTransport, req: IncomingMessage, res: ServerResponse, parsedBody?: unknown): Promise<void> {
  let body: string | undefined;
  if (req.method === 'POST' && parsedBody === undefined) {
    const raw = await readBody(req, MCP_MAX_BODY_BYTES);
    if (raw === null) return writeJsonError(res, 413, `Payload Too Large: Request body must not exceed ${MCP_MAX_BODY_BYTES} bytes`);
    body = raw.toString('utf8');
    try {
      parsedBody = JSON.parse(body);
      body = undefined;
    } catch {
      // Not JSON: the transport reads it and answers the parse error (after its Accept and Content-Type checks).
    }
  }
  const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, { method: req.method, headers: requestHeaders(req), body });
  const response = await transport.handleRequest(request, parsedBody === undefined ? undefined : { parsedBody });
  await writeResponse(response, res);
}

function requestHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  return headers;
}

async function writeResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers = Object.fromEntries(response.headers);
  if (!response.body) {
    res.writeHead(response.status, headers).end();
    return;
  }
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
    // A JSON answer or refusal: whole, with its length.
    const bytes = Buffer.from(await response.arrayBuffer());
    res.writeHead(response.status, { ...headers, 'content-length': bytes.length }).end(bytes);
    return;
  }
  // An event stream: headers at once (a standing GET stream may carry nothing for a long time), then each event as it
  // comes. What is written in one turn of the event loop leaves in one packet: the headers with the priming event, and
  // a quick tool's answer with the end of its stream.
  const batch = batcher(res);
  batch();
  res.writeHead(response.status, headers);
  res.flushHeaders();
  const reader = response.body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  // The client gone (now or later) cancels the stream, so the transport forgets it and a reconnect is not refused.
  if (res.destroyed) cancel();
  else res.once('close', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      batch();
      if (!res.write(value)) await drained(res);
    }
    batch();
    res.end();
  } catch (err) {
    res.destroy(err as Error);
  } finally {
    res.off('close', cancel);
  }
}

/** Holds writes to `res` until the current turn of the event loop (its microtasks included) is over, then sends them together. */
function batcher(res: ServerResponse): () => void {
  let corked = false;
  const release = () => {
    corked = false;
    res.uncork();
  };
  return () => {
    if (corked) return;
    corked = true;
    res.cork();
    process.nextTick(release);
  };
}

/** Resolves once the socket took what was written, or closed (then the next read ends: the stream was cancelled). */
function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

function writeJsonError(res: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}
