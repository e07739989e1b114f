import { createHmac, createPrivateKey, sign } from 'node:crypto';
import { connect } from 'node:net';

/**
 * The load side of the webhook bench, run as its own process so the sidecar is measured over real
 * loopback sockets. Signs every request as the carrier would and prints {count, seconds, latencies}.
 */
type Job = { carrier: 'twilio' | 'telnyx'; url: string; publicUrl: string; count: number; concurrency: number; authToken?: string; telnyxPrivateKey?: string };

const job = JSON.parse(process.argv[2]) as Job;
const key = job.telnyxPrivateKey ? createPrivateKey({ key: Buffer.from(job.telnyxPrivateKey, 'base64'), format: 'der', type: 'pkcs8' }) : undefined;
const run = `${process.pid}-${Date.now()}`;

function signedRequest(i: number): { path: string; headers: Record<string, string>; body: string } {
  if (job.carrier === 'twilio') {
    const path = '/webhooks/twilio/sms';
    const params: Record<string, string> = { AccountSid: `AC${'ab'.repeat(16)}`, MessageSid: `SM${run}${i}`, From: '+15550100001', To: '+15550100000', Body: `load ${i}` };
    const data = Object.keys(params).sort().reduce((acc, k) => acc + k + params[k], `${job.publicUrl}${path}`);
    const signature = createHmac('sha1', job.authToken!).update(data).digest('base64');
    return { path, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, body: new URLSearchParams(params).toString() };
  }
  const body = JSON.stringify({
    data: {
      record_type: 'event',
      id: `evt-${run}-${i}`,
      event_type: 'message.received',
      occurred_at: new Date().toISOString(),
      payload: { id: `msg-${run}-${i}`, from: { phone_number: '+15550100001' }, to: [{ phone_number: '+15550100000' }], text: `load ${i}` },
    },
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = sign(null, Buffer.from(`${ts}|${body}`), key!).toString('base64');
  return { path: '/webhooks/telnyx', headers: { 'content-type': 'application/json', 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': ts }, body };
}

// Signed up front, so the load side measures the sidecar rather than its own signing.
const requests = Array.from({ length: job.count }, (_, i) => signedRequest(i));

// The exact bytes of each request, written straight to a socket: Node's HTTP client costs more per request than the
// sidecar does, and on a shared machine it would be the client's speed that got measured.
const target = new URL(job.url);
const wire = requests.map(({ path, headers, body }) => {
  const head = [`POST ${path} HTTP/1.1`, `host: ${target.host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `content-length: ${Buffer.byteLength(body)}`];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`);
});

/** One keep-alive connection carrying one request at a time, as a carrier's sender does. */
function connection() {
  const socket = connect(Number(target.port), target.hostname).setNoDelay(true);
  let pending: { t0: number; resolve(ms: number): void; reject(err: Error): void } | null = null;
  let received: Buffer = Buffer.alloc(0);
  const fail = (err: Error) => {
    pending?.reject(err);
    pending = null;
  };
  socket.on('data', (chunk: Buffer) => {
    received = received.length ? Buffer.concat([received, chunk]) : chunk;
    const headEnd = received.indexOf('\r\n\r\n');
    if (headEnd < 0 || !pending) return;
    const head = received.subarray(0, headEnd).toString('latin1');
    const end = headEnd + 4 + Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (received.length < end) return;
    received = received.subarray(end);
    const { t0, resolve, reject } = pending;
    pending = null;
    if (head.startsWith('HTTP/1.1 200 ')) resolve(performance.now() - t0);
    else reject(new Error(head.slice(0, head.indexOf('\r\n'))));
  });
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('the sidecar closed the connection')));
  return {
    send: (i: number) =>
      new Promise<number>((resolve, reject) => {
        pending = { t0: performance.now(), resolve, reject };
        socket.write(wire[i]);
      }),
    close: () => socket.destroy(),
  };
}

const latencies: number[] = [];
let next = 0;
const t0 = performance.now();
const connections = Array.from({ length: job.concurrency }, connection);
await Promise.all(
  connections.map(async (c) => {
    while (next < job.count) latencies.push(await c.send(next++));
  }),
);
const seconds = (performance.now() - t0) / 1000;
for (const c of connections) c.close();
process.stdout.write(JSON.stringify({ count: latencies.length, seconds, latencies }));
