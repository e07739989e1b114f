import type { DoctorCheck } from '../setup-check.js';
import { requireSettings, type Config } from '../../config.js';
import { TWILIO_WEBHOOK_PATHS } from './paths.js';


const CONSOLE = 'Twilio console → Phone Numbers → Manage → Active numbers → your number';

/**
 * What can be checked about a Twilio setup without the network, and the exact URLs to paste into the console.
 * Runs on a validated config, so what Twilio cannot work without is present; this looks at what it is.
 */
export function twilioDoctor(config: Config): DoctorCheck[] {
  const required = requireSettings(config, ['TWILIO_ACCOUNT_SID', 'SWITCHBOARD_FROM_NUMBER', 'SWITCHBOARD_PUBLIC_URL']);
  const sid = required.TWILIO_ACCOUNT_SID;
  return [
    ok('TWILIO_ACCOUNT_SID', `${sid.slice(0, 6)}…${sid.slice(-4)}`),
    authTokenCheck(config.TWILIO_AUTH_TOKEN),
    ok('SWITCHBOARD_FROM_NUMBER', required.SWITCHBOARD_FROM_NUMBER),
    publicUrlCheck(required.SWITCHBOARD_PUBLIC_URL),
    ...webhookUrlChecks(required.SWITCHBOARD_PUBLIC_URL),
    ...(config.SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY
      ? [warn('Twilio webhook signatures', 'NOT checked (SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY=true): anyone who reaches the sidecar can fake calls and messages; turn it off outside local experiments.')]
      : []),
    ...(config.SWITCHBOARD_TWILIO_API_URL ? [warn('Twilio REST endpoint', `${config.SWITCHBOARD_TWILIO_API_URL} instead of https://api.twilio.com (SWITCHBOARD_TWILIO_API_URL); unset it to reach the real Twilio.`)] : []),
    {
      status: 'skip',
      label: 'Twilio account',
      detail: 'Not checked offline: that Twilio accepts these credentials, and that SWITCHBOARD_FROM_NUMBER is a voice- and SMS-capable number of this account. Place one test call to confirm.',
    },
  ];
}

function authTokenCheck(token: string | undefined): DoctorCheck {
  const label = 'TWILIO_AUTH_TOKEN';
  if (!token) return fail(label, 'missing: copy the Auth Token from the Twilio console home page; it signs requests and verifies webhooks.');
  if (!/^[0-9a-fA-F]{32}$/.test(token)) return warn(label, `set, but a Twilio auth token is 32 hex digits and this one is ${token.length} characters; check for a stray space or a pasted API secret.`);
  return ok(label, 'set (32 hex digits)');
}

function publicUrlCheck(url: string): DoctorCheck {
  const label = 'SWITCHBOARD_PUBLIC_URL';
  const parsed = new URL(url);
  if (/^(localhost|127\.|0\.0\.0\.0|\[::1?\])/.test(parsed.host)) return fail(label, `${url} points at this machine; Twilio cannot reach it. Use the tunnel or proxy origin.`);
  if (parsed.protocol !== 'https:') return fail(label, `${url} is not https; Twilio should reach the webhooks over TLS. Use the https origin of your tunnel or proxy.`);
  return ok(label, `${url} (webhook signatures are checked against exactly this origin; it must match what you paste in the console)`);
}

function webhookUrlChecks(publicUrl: string): DoctorCheck[] {
  const where = {
    voice: `${CONSOLE} → Voice Configuration → "A call comes in": Webhook, HTTP POST`,
    status: `${CONSOLE} → Voice Configuration → "Call status changes", HTTP POST (outbound calls and SMS set it themselves; inbound calls need it to end on time)`,
    sms: `${CONSOLE} → Messaging Configuration → "A message comes in": Webhook, HTTP POST`,
  };
  return [
    ...(Object.keys(where) as (keyof typeof where)[]).map((kind) =>
      ok(`Twilio ${kind} webhook`, `${publicUrl}${TWILIO_WEBHOOK_PATHS[kind]}  ← paste into ${where[kind]}`),
    ),
    ok('Twilio gather webhook', `${publicUrl}${TWILIO_WEBHOOK_PATHS.gather} (conversation calls name it in their TwiML; nothing to paste)`),
  ];
}

const ok = (label: string, detail: string): DoctorCheck => ({ status: 'ok', label, detail });
const warn = (label: string, detail: string): DoctorCheck => ({ status: 'warn', label, detail });
const fail = (label: string, detail: string): DoctorCheck => ({ status: 'fail', label, detail });
