import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startSidecar, type Sidecar } from '../../src/http/server.js';
import type { TelephonyProvider } from '../../src/telephony/provider.js';
import { createTwilioProvider } from '../../src/telephony/twilio/provider.js';
import { freePort } from '../helpers.js';
import { FakeDomain } from './fake-domain.js';
import { TwilioEmulator, type Callee } from './twilio-emulator.js';

/**
 * The Twilio adapter alone, for tests of it without the rest of Switchboard: the real SDK talks to the emulator, the
 * emulator calls the real sidecar (whose URL is the public URL), and the domain is a FakeDomain.
 */
export const ACCOUNT_SID = `AC${'ab'.repeat(16)}`;
export const AUTH_TOKEN = '0123456789abcdef0123456789abcdef';
export const OUR_NUMBER = '+12125550100';

export type World = { emulator: TwilioEmulator; domain: FakeDomain; twilio: TelephonyProvider; sidecar: Sidecar; publicUrl: string };
const worlds: World[] = [];

afterEach(async () => {
  for (const w of worlds.splice(0)) {
    await w.emulator.close();
    await w.sidecar.close();
    await w.twilio.stop();
  }
});

export async function world(callees: Record<string, Callee> = {}, env: Record<string, string> = {}): Promise<World> {
  const emulator = await new TwilioEmulator(ACCOUNT_SID, AUTH_TOKEN, callees).start();
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    SWITCHBOARD_DATA_DIR: join(tmpdir(), 'switchboard-twilio-unused'), // the adapter never opens the store
    SWITCHBOARD_PROVIDER: 'twilio',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    SWITCHBOARD_PUBLIC_URL: publicUrl,
    SWITCHBOARD_FROM_NUMBER: OUR_NUMBER,
    SWITCHBOARD_TWILIO_API_URL: emulator.url,
    ...env,
  });
  const domain = new FakeDomain(config);
  const twilio = createTwilioProvider(domain, { retry: { tries: 3, baseDelayMs: 1 } });
  const sidecar = await startSidecar({ host: '127.0.0.1', port, log: domain.log, routes: twilio.webhooks, health: () => ({}) });
  emulator.numberWebhooks = {
    voiceUrl: `${publicUrl}/webhooks/twilio/voice`,
    smsUrl: `${publicUrl}/webhooks/twilio/sms`,
    statusCallback: `${publicUrl}/webhooks/twilio/status`,
  };
  const w = { emulator, domain, twilio, sidecar, publicUrl };
  worlds.push(w);
  return w;
}
