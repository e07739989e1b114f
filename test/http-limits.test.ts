import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { startSidecar, type Sidecar } from '../src/http/server.js';
import { until } from './helpers.js';

let sidecar: Sidecar | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await sidecar?.close();
  sidecar = undefined;
});

async function start(limits: Parameters<typeof startSidecar>[0]['limits']): Promise<Sidecar> {
  sidecar = await startSidecar({ host: '127.0.0.1', port: 0, log: createLogger('silent'), routes: [], health: () => ({ ok: true }), limits });
  return sidecar;
}

/** A raw TCP client that records when the server closes on it. */
function open(url: string): Promise<{ socket: Socket; closed: () => boolean; received: () => string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let closed = false;
    let received = '';
    const socket = connect(Number(port), hostname, () => resolve({ socket, closed: () => closed, received: () => received }));
    sockets.push(socket);
    socket.on('data', (d) => (received += d));
    socket.on('close', () => (closed = true));
    socket.on('error', () => (closed = true));
    socket.once('error', reject);
  });
}

describe('the sidecar sheds slow and surplus connections', () => {
  it('closes a client that never finishes its headers', async () => {
    const { url } = await start({ headersTimeoutMs: 200 });
    const slow = await open(url);
    slow.socket.write('POST /webhooks/telnyx HTTP/1.1\r\nHost: x\r\n'); // and then nothing more
    await until(() => slow.closed(), 'the slow client to be dropped', 5_000);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes a client that sends its body too slowly', async () => {
    const { url } = await start({ headersTimeoutMs: 200, requestTimeoutMs: 400 });
    const slow = await open(url);
    slow.socket.write('POST /webhooks/telnyx HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a":');
    await until(() => slow.closed(), 'the slow body to be dropped', 5_000);
  });

  it('closes an idle keep-alive connection', async () => {
    const { url } = await start({ idleTimeoutMs: 200 });
    const idle = await open(url);
    idle.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => idle.received().includes('"ok":true'), 'the health answer');
    await until(() => idle.closed(), 'the idle connection to be closed', 5_000);
  });

  it('refuses connections beyond the cap while the others keep working', async () => {
    const { url } = await start({ maxConnections: 2 });
    const first = await open(url);
    const second = await open(url);
    const third = await open(url);
    await until(() => third.closed(), 'the third connection to be refused', 5_000);
    first.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => first.received().includes('"ok":true'), 'the first connection to be served');
    expect(second.closed()).toBe(false);
  });
});
