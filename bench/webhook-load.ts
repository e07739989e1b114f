import { createHmac, createPrivateKey, sign } from 'node:crypto';
import { Agent, request } from 'node:http';

/**
 * The load side of the webhook bench, run as its own process so the sidecar is measured over real
 * loopback sockets. Signs every request as the carrier would and prints {count, seconds, latencies}.
 */
type Job = { carrier: 'twilio' | 'telnyx'; url: string; publicUrl: string; count: number; concurrency: number; authToken?: string; telnyxPrivateKey?: string };

const job = JSON.parse(process.argv[2]) as Job;
const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
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

function send(i: number): Promise<number> {
  const { path, headers, body } = requests[i];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${job.url}${path}`, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const latencies: number[] = [];
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: job.concurrency }, async () => {
    while (next < job.count) latencies.push(await send(next++));
  }),
);
const seconds = (performance.now() - t0) / 1000;
agent.destroy();
process.stdout.write(JSON.stringify({ count: latencies.length, seconds, latencies }));
