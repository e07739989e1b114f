import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { freePort } from '../test/helpers.js';
import { percentile, tempDir, type Row } from './util.js';

const LOAD = fileURLToPath(new URL('./webhook-load.ts', import.meta.url));
const AUTH_TOKEN = '0123456789abcdef0123456789abcdef';

/** Signed webhooks the sidecar verifies and records, driven from a second process on loopback. */
export async function benchWebhooks(count = 10_000, concurrency = 8): Promise<Row[]> {
  const rows: Row[] = [];
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  for (const carrier of ['twilio', 'telnyx'] as const) {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const config = loadConfig({
      SWITCHBOARD_DATA_DIR: tempDir(),
      SWITCHBOARD_PROVIDER: carrier,
      SWITCHBOARD_HTTP_PORT: String(port),
      SWITCHBOARD_PUBLIC_URL: publicUrl,
      SWITCHBOARD_FROM_NUMBER: '+15550100000',
      TWILIO_ACCOUNT_SID: `AC${'ab'.repeat(16)}`,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TELNYX_API_KEY: 'KEY0123456789abcdef',
      TELNYX_CONNECTION_ID: 'bench-connection',
      TELNYX_PUBLIC_KEY: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    });
    const app = await createApp(config, createLogger('warn'), { listen: true });
    const job = {
      carrier,
      url: app.sidecar!.url,
      publicUrl,
      count,
      concurrency,
      authToken: AUTH_TOKEN,
      telnyxPrivateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    };
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', LOAD, JSON.stringify(job)], { maxBuffer: 64 * 1024 * 1024 });
    const result = JSON.parse(stdout) as { count: number; seconds: number; latencies: number[] };
    const recorded = (app.store.db.prepare(`SELECT count(*) AS n FROM messages WHERE direction = 'inbound'`).get() as { n: number }).n;
    await app.stop();
    if (recorded !== count) throw new Error(`${carrier}: sent ${count} webhooks but ${recorded} were recorded`);
    rows.push({
      metric: `${carrier} signed webhooks verified + recorded (${count}, ${concurrency} in flight)`,
      value: result.count / result.seconds,
      p50: percentile(result.latencies, 50),
      p99: percentile(result.latencies, 99),
      unit: 'req/s; ms',
      target: '≥ 2000/s, p99 < 20 ms',
    });
  }
  return rows;
}
