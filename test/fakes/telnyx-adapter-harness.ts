import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startSidecar, type Sidecar } from '../../src/http/server.js';
import type { PlaceCallRequest, TelephonyProvider } from '../../src/telephony/provider.js';
import { createTelnyxProvider } from '../../src/telephony/telnyx/provider.js';
import { dialRequest, FakeDomain } from './fake-domain.js';
import { TelnyxEmulator, type EmulatedCall } from './telnyx-emulator.js';
import { freePort } from '../helpers.js';

/**
 * The Telnyx adapter alone, for tests of it without the rest of Switchboard: the emulator, the provider over a
 * FakeDomain, and a sidecar on the port SWITCHBOARD_PUBLIC_URL names, where the emulator posts webhooks.
 */
export const OUR_NUMBER = '+12125550100';

export type AdapterHarness = { emulator: TelnyxEmulator; sidecar: Sidecar; provider: TelephonyProvider; domain: FakeDomain };
const open: AdapterHarness[] = [];

afterEach(async () => {
  for (const h of open.splice(0)) {
    await h.emulator.settled();
    await h.provider.stop();
    await h.sidecar.close();
    await h.emulator.close();
  }
});

export async function adapterHarness(opts: { key?: 'raw' | 'der'; env?: Record<string, string>; timeoutMs?: number; speakMs?: number } = {}): Promise<AdapterHarness> {
  const emulator = await TelnyxEmulator.start({ speakMs: opts.speakMs ?? 40 });
  const port = await freePort();
  const config = loadConfig({
    SWITCHBOARD_DATA_DIR: join(tmpdir(), 'switchboard-telnyx-test-none'),
    SWITCHBOARD_PROVIDER: 'telnyx',
    SWITCHBOARD_PUBLIC_URL: `http://127.0.0.1:${port}`,
    SWITCHBOARD_FROM_NUMBER: OUR_NUMBER,
    TELNYX_API_KEY: emulator.apiKey,
    TELNYX_CONNECTION_ID: emulator.connectionId,
    TELNYX_PUBLIC_KEY: opts.key === 'der' ? emulator.publicKeyDer : emulator.publicKeyRaw,
    SWITCHBOARD_TELNYX_API_URL: emulator.url,
    ...opts.env,
  });
  const domain = new FakeDomain(config);
  const provider = createTelnyxProvider(domain, { retry: { tries: 3, baseDelayMs: 5 }, requestTimeoutMs: opts.timeoutMs ?? 2000 });
  const sidecar = await startSidecar({ host: '127.0.0.1', port, log: domain.log, routes: provider.webhooks, health: () => ({ ok: true }) });
  emulator.webhookUrl = `${sidecar.url}/webhooks/telnyx`;
  const h = { emulator, sidecar, provider, domain };
  open.push(h);
  return h;
}

let seq = 0;
/** Places a call through the adapter as the domain would (a notify call unless `over` says otherwise). */
export async function placeCall(h: AdapterHarness, to: string, over: Partial<PlaceCallRequest> = {}): Promise<{ callId: string; call: EmulatedCall }> {
  const callId = `call_${++seq}`;
  const req = dialRequest(callId, to, OUR_NUMBER, { maxDurationSeconds: 120, idempotencyKey: `${callId}-attempt-1`, ...over });
  h.domain.dialing(req);
  const { providerCallId } = await h.provider.placeCall(req);
  h.domain.linked(callId, providerCallId);
  return { callId, call: h.emulator.calls.get(providerCallId)! };
}
