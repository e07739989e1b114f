import type { DoctorCheck } from '../setup-check.js';
import type { Config } from '../../config.js';
import { isE164 } from '../../phone.js';
import { TWILIO_WEBHOOK_PATHS } from './paths.js';


const CONSOLE = 'Twilio console → Phone Numbers → Manage → Active numbers → your number';

/** What can be checked about a Twilio setup without the network, and the exact URLs to paste into the console. */
export function twilioDoctor(config: Config): DoctorCheck[] {
  return [
    accountSidCheck(config.TWILIO_ACCOUNT_SID),
    authTokenCheck(config.TWILIO_AUTH_TOKEN),
    fromNumberCheck(config.SWITCHBOARD_FROM_NUMBER),
    publicUrlCheck(config.SWITCHBOARD_PUBLIC_URL),
    ...webhookUrlChecks(config.SWITCHBOARD_PUBLIC_URL),
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

function accountSidCheck(sid: string | undefined): DoctorCheck {
  const label = 'TWILIO_ACCOUNT_SID';
  if (!sid) return fail(label, 'missing: copy the Account SID (AC…) from the Twilio console home page.');
  if (!/^AC[0-9a-fA-F]{32}$/.test(sid)) return fail(label, 'must be AC followed by 32 hex digits (an API key SID starting with SK will not do).');
  return ok(label, `${sid.slice(0, 6)}…${sid.slice(-4)}`);
}

function authTokenCheck(token: string | undefined): DoctorCheck {
  const label = 'TWILIO_AUTH_TOKEN';
  if (!token) return fail(label, 'missing: copy the Auth Token from the Twilio console home page; it signs requests and verifies webhooks.');
  if (!/^[0-9a-fA-F]{32}$/.test(token)) return warn(label, `set, but a Twilio auth token is 32 hex digits and this one is ${token.length} characters; check for a stray space or a pasted API secret.`);
  return ok(label, 'set (32 hex digits)');
}

function fromNumberCheck(number: string | undefined): DoctorCheck {
  const label = 'SWITCHBOARD_FROM_NUMBER';
  if (!number) return fail(label, 'missing: set it to your Twilio number in E.164, like +15551234567.');
  if (!isE164(number)) return fail(label, `${JSON.stringify(number)} is not E.164; write it like +15551234567 (+, country code, no spaces).`);
  return ok(label, number);
}

function publicUrlCheck(url: string | undefined): DoctorCheck {
  const label = 'SWITCHBOARD_PUBLIC_URL';
  if (!url) return fail(label, 'missing: Twilio needs a public https origin (a tunnel such as ngrok or cloudflared, or a reverse proxy) that reaches the sidecar.');
  const parsed = new URL(url);
  if (/^(localhost|127\.|0\.0\.0\.0|\[::1?\])/.test(parsed.host)) return fail(label, `${url} points at this machine; Twilio cannot reach it. Use the tunnel or proxy origin.`);
  if (parsed.protocol !== 'https:') return fail(label, `${url} is not https; Twilio should reach the webhooks over TLS. Use the https origin of your tunnel or proxy.`);
  return ok(label, `${url} (webhook signatures are checked against exactly this origin; it must match what you paste in the console)`);
}

function webhookUrlChecks(publicUrl: string | undefined): DoctorCheck[] {
  const where = {
    voice: `${CONSOLE} → Voice Configuration → "A call comes in": Webhook, HTTP POST`,
    status: `${CONSOLE} → Voice Configuration → "Call status changes", HTTP POST (outbound calls and SMS set it themselves)`,
    sms: `${CONSOLE} → Messaging Configuration → "A message comes in": Webhook, HTTP POST`,
  };
  return (Object.keys(TWILIO_WEBHOOK_PATHS) as (keyof typeof TWILIO_WEBHOOK_PATHS)[]).map((kind) => {
    const label = `Twilio ${kind} webhook`;
    if (!publicUrl) return { status: 'skip', label, detail: `set SWITCHBOARD_PUBLIC_URL first; then paste <public url>${TWILIO_WEBHOOK_PATHS[kind]} into ${where[kind]}.` };
    return ok(label, `${publicUrl}${TWILIO_WEBHOOK_PATHS[kind]}  ← paste into ${where[kind]}`);
  });
}

const ok = (label: string, detail: string): DoctorCheck => ({ status: 'ok', label, detail });
const warn = (label: string, detail: string): DoctorCheck => ({ status: 'warn', label, detail });
const fail = (label: string, detail: string): DoctorCheck => ({ status: 'fail', label, detail });
