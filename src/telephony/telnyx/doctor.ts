import type { DoctorCheck } from '../setup-check.js';
import { requireSettings, type Config } from '../../config.js';
import { parseTelnyxPublicKey } from './signature.js';
import { TELNYX_WEBHOOK_PATH } from './webhook.js';


/**
 * What can be told about a Telnyx setup without reaching Telnyx; the rest is listed as skipped. Runs on a
 * validated config, so what Telnyx cannot work without is present; this looks at what it is.
 */
export function telnyxDoctor(config: Config): DoctorCheck[] {
  const required = requireSettings(config, ['TELNYX_API_KEY', 'TELNYX_CONNECTION_ID', 'SWITCHBOARD_FROM_NUMBER', 'SWITCHBOARD_PUBLIC_URL']);
  return [
    apiKey(required.TELNYX_API_KEY),
    { status: 'ok', label: 'Telnyx connection id', detail: `set (${required.TELNYX_CONNECTION_ID})` },
    ...publicKey(config),
    config.TELNYX_MESSAGING_PROFILE_ID
      ? { status: 'ok', label: 'Telnyx messaging profile', detail: 'TELNYX_MESSAGING_PROFILE_ID is set' }
      : { status: 'warn', label: 'Telnyx messaging profile', detail: 'TELNYX_MESSAGING_PROFILE_ID is not set; SMS needs the from number on a messaging profile, and number pools or alphanumeric senders need its id' },
    { status: 'ok', label: 'Caller id (from number)', detail: required.SWITCHBOARD_FROM_NUMBER },
    ...publicUrl(required.SWITCHBOARD_PUBLIC_URL),
    { status: 'skip', label: 'Telnyx API key accepted', detail: 'not checked offline; a call or SMS that fails with code 10009 means Telnyx refused the key' },
    { status: 'skip', label: 'Telnyx connection webhook', detail: 'not checked offline; the Call Control application must exist and send its webhooks (API v2) to the URL above' },
    { status: 'skip', label: 'Telnyx number assignment', detail: 'not checked offline; the from number must belong to the account, be assigned to the connection for calls and to the messaging profile for SMS' },
  ];
}

function apiKey(value: string): DoctorCheck {
  const label = 'Telnyx API key';
  if (!/^KEY[A-Za-z0-9_-]{20,}$/.test(value.trim())) {
    return { status: 'warn', label, detail: 'TELNYX_API_KEY does not look like a Telnyx API v2 key (those start with KEY followed by letters, digits and _); a v1 token or a public key will be refused' };
  }
  return { status: 'ok', label, detail: 'TELNYX_API_KEY is set and looks like an API v2 key' };
}

function publicKey(config: Config): DoctorCheck[] {
  const label = 'Telnyx webhook public key';
  const skipping = config.SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY;
  const checks: DoctorCheck[] = [];
  if (skipping) {
    checks.push({ status: 'warn', label: 'Webhook verification', detail: 'SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY is on: anyone who can reach the webhook URL can fake call and SMS events; turn it off' });
  }
  if (!config.TELNYX_PUBLIC_KEY) {
    const detail = 'set TELNYX_PUBLIC_KEY to the public key shown in Portal → Account settings → Keys & Credentials → Public Key';
    checks.push({ status: skipping ? 'warn' : 'fail', label, detail: skipping ? `${detail} (needed as soon as verification is back on)` : detail });
    return checks;
  }
  try {
    const { format } = parseTelnyxPublicKey(config.TELNYX_PUBLIC_KEY);
    checks.push({ status: 'ok', label, detail: `an Ed25519 key (${format === 'raw' ? 'raw 32 bytes, as the portal shows it' : 'DER/SPKI'})` });
  } catch (err) {
    checks.push({ status: 'fail', label, detail: `${(err as Error).message}; copy the base64 public key from Portal → Keys & Credentials → Public Key` });
  }
  return checks;
}

function publicUrl(value: string): DoctorCheck[] {
  const label = 'Public URL';
  const webhook = `${value.replace(/\/+$/, '')}${TELNYX_WEBHOOK_PATH}`;
  const https = value.startsWith('https://');
  return [
    https
      ? { status: 'ok', label, detail: value }
      : { status: 'fail', label, detail: `${value} is not https; Telnyx must reach the webhooks over https (put a tunnel or TLS proxy in front)` },
    { status: 'ok', label: 'Telnyx webhook URL', detail: `paste ${webhook} as the webhook URL of the Call Control application and of the messaging profile` },
  ];
}
