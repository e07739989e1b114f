import { Agent, request, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { faceLogger, faceSettings } from './face-settings.js';
import { reachEngine, type EngineAddress } from './engine-client.js';

type Log = ReturnType<typeof faceLogger>;
type Frame = { id?: string | number | null; method?: string; result?: { protocolVersion?: string } };

const RECONNECT_MS = 500;

/**
 * `switchboard serve` in `auto` mode: a thin face. Each JSON-RPC line from the MCP client is posted to the engine's
 * `/mcp` as it is, and everything the engine sends back (responses, progress, resource updates, on the POST's own
 * stream or the session's standing one) comes out on stdout. Closing the face ends its MCP session and nothing
 * else: calls, schedules and webhooks stay with the engine. It loads nothing beyond Node itself when an engine
 * runs; only starting one needs the full configuration.
 */
export async function runStdioFace(env: NodeJS.ProcessEnv): Promise<number> {
  const settings = faceSettings(env);
  const log = faceLogger(settings.logLevel);
  const engine = (await reachEngine(settings)) ?? (await (await import('./engine-start.js')).startEngineFor(settings, log));
  if (typeof engine === 'number') return engine;
  return new Relay(engine, log).run();
}

class Relay {
  private readonly agent = new Agent({ keepAlive: true });
  private session: string | undefined;
  private protocolVersion: string | undefined;
  private lastEventId: string | undefined;
  private standing: IncomingMessage | undefined;
  private closing = false;
  /** Settles once the engine answered initialize with a session id; later messages wait for it, in order. */
  private session$: Promise<unknown> = Promise.resolve();
  /** Where `/mcp` is, parsed once rather than on every message. */
  private readonly target: { hostname: string; port: string; path: string };

  constructor(
    private readonly engine: EngineAddress,
    private readonly log: Log,
  ) {
    const url = new URL('/mcp', engine.url);
    this.target = { hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port, path: url.pathname };
  }

  run(): Promise<number> {
    return new Promise((resolve) => {
      const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
      const stopReading = () => {
        lines.close();
        process.stdin.destroy();
      };
      lines.on('line', (line) => line.trim() && this.forward(line));
      const close = async (reason: string) => {
        if (this.closing) return;
        this.closing = true;
        this.log('info', 'face closing; the engine keeps running', { reason });
        stopReading();
        this.standing?.destroy();
        if (this.session) await this.call('DELETE').catch(() => undefined);
        this.agent.destroy();
        resolve(0);
      };
      lines.once('close', () => void close('stdin closed'));
      process.once('SIGINT', () => void close('SIGINT'));
      process.once('SIGTERM', () => void close('SIGTERM'));
      this.log('info', 'switchboard ready (attached to the engine)', { engine: this.engine.url, engine_pid: this.engine.pid });
    });
  }

  private forward(line: string): void {
    let frame: Frame;
    try {
      frame = JSON.parse(line) as Frame;
    } catch {
      return this.emit({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error: each line must be one JSON-RPC message' } });
    }
    const posted = frame.method === 'initialize' ? this.call('POST', line) : this.session$.then(() => this.call('POST', line));
    if (frame.method === 'initialize') {
      this.session$ = posted.then((res) => (this.session = header(res, 'mcp-session-id')), () => undefined);
    }
    posted.then(
      async (res) => {
        if (res.statusCode === 202) {
          // The session is ready: open the standing stream that carries resource updates.
          if (frame.method === 'notifications/initialized') this.openStanding();
          return res.resume();
        }
        await this.readReply(res, frame);
      },
      (err: Error) => this.failed(frame, err),
    )
      // A reply cut off or garbled on the way is an error for its request, not the end of the face.
      .catch((err: Error) => this.failed(frame, err));
  }

  /** A JSON reply or an SSE stream of messages ending with the reply; either way, each message goes to stdout. */
  private async readReply(res: IncomingMessage, frame: Frame): Promise<void> {
    const type = header(res, 'content-type') ?? '';
    if (type.startsWith('text/event-stream')) return this.readEvents(res);
    let body = '';
    for await (const chunk of res) body += chunk;
    if (!body) return this.failed(frame, new Error(`HTTP ${res.statusCode} with no body`));
    const message = JSON.parse(body) as Frame;
    // An HTTP-level refusal (401, 404 …) is answered to the request it concerns, so the client is not left waiting.
    if (res.statusCode! >= 400 && frame.id !== undefined && message.id == null) return this.emit({ ...message, id: frame.id });
    this.received(message);
  }

  /** A message from the engine, for the client; the initialize result says which protocol version later requests carry. */
  private received(message: Frame): void {
    if (message.result?.protocolVersion) this.protocolVersion ??= message.result.protocolVersion;
    this.emit(message);
  }

  private async readEvents(res: IncomingMessage, standing = false): Promise<void> {
    let buffered = '';
    res.setEncoding('utf8');
    for await (const chunk of res) {
      buffered += chunk as string;
      // Events end with a blank line; what follows the last one waits for more.
      let end: number;
      while ((end = buffered.search(/\r?\n\r?\n/)) >= 0) {
        this.event(buffered.slice(0, end), standing);
        buffered = buffered.slice(end).replace(/^\r?\n\r?\n/, '');
      }
    }
  }

  private event(block: string, standing: boolean): void {
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      else if (line.startsWith('id:')) id = line.slice(3).trim();
    }
    // An event without data (the server's priming event) carries only an id to resume from.
    const text = data.join('\n').trim();
    if (text) this.pass(text);
    if (standing && id) this.lastEventId = id;
  }

  /** An event's message, passed on as the engine wrote it (one line of JSON); until initialize is answered, read. */
  private pass(text: string): void {
    if (this.protocolVersion === undefined || text.includes('\n')) return this.received(JSON.parse(text) as Frame);
    process.stdout.write(`${text}\n`);
  }

  /** The session's standing SSE stream; reopened with Last-Event-ID after a drop, so nothing sent meanwhile is lost. */
  private openStanding(): void {
    if (this.closing) return;
    const headers: Record<string, string> = this.lastEventId ? { 'last-event-id': this.lastEventId } : {};
    this.call('GET', undefined, headers).then(
      async (res) => {
        if (res.statusCode !== 200) return void res.resume();
        this.standing = res;
        await this.readEvents(res, true).catch(() => undefined);
        if (!this.closing) setTimeout(() => this.openStanding(), RECONNECT_MS);
      },
      () => !this.closing && setTimeout(() => this.openStanding(), RECONNECT_MS),
    );
  }

  private call(method: 'POST' | 'GET' | 'DELETE', body?: string, extra: Record<string, string> = {}): Promise<IncomingMessage> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.engine.token}`,
      accept: method === 'GET' ? 'text/event-stream' : 'application/json, text/event-stream',
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...(this.session && { 'mcp-session-id': this.session }),
      ...(this.protocolVersion && { 'mcp-protocol-version': this.protocolVersion }),
      ...extra,
    };
    return new Promise((resolve, reject) => {
      const req = request({ ...this.target, method, headers, agent: this.agent }, resolve);
      req.on('error', reject);
      req.end(body);
    });
  }

  private failed(frame: Frame, err: Error): void {
    this.log('error', 'the engine did not take a message', { err: err.message });
    // A request must be answered, or the client waits for ever.
    if (frame.id !== undefined && frame.method) {
      this.emit({ jsonrpc: '2.0', id: frame.id, error: { code: -32603, message: `The Switchboard engine at ${this.engine.url} could not be reached (${err.message}); run \`switchboard status\`.` } });
    }
  }

  private emit(message: unknown): void {
    process.stdout.write(`${JSON.stringify(message)}\n`);
  }
}

function header(res: IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
