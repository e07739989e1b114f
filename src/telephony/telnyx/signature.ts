import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { WebhookRequest } from '../provider.js';

/** Telnyx (and its SDK) refuse a webhook whose timestamp is further than this from now, either way. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

// DER header of an Ed25519 SubjectPublicKeyInfo; the portal hands out only the 32 key bytes after it.
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export type TelnyxPublicKey = { key: KeyObject; format: 'raw' | 'spki' };

/** Reads TELNYX_PUBLIC_KEY: base64 of the raw 32-byte Ed25519 key (as the portal shows it) or of its DER/SPKI form. */
export function parseTelnyxPublicKey(base64: string): TelnyxPublicKey {
  const bytes = Buffer.from(base64.trim(), 'base64');
  if (bytes.length === 32) {
    return { key: createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, bytes]), format: 'der', type: 'spki' }), format: 'raw' };
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: bytes, format: 'der', type: 'spki' });
  } catch {
    throw new Error(`TELNYX_PUBLIC_KEY decodes to ${bytes.length} bytes, neither a raw 32-byte Ed25519 key nor a DER/SPKI one`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`TELNYX_PUBLIC_KEY is a ${key.asymmetricKeyType} key, not Ed25519`);
  return { key, format: 'spki' };
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

// With a callback, node:crypto verifies on the libuv thread pool, so a webhook burst does not hold the event loop.
const verifyOnPool = promisify(verify);

/** Checks `telnyx-signature-ed25519` over `${telnyx-timestamp}|${rawBody}` (the exact bytes received) and the timestamp window. */
export async function verifyTelnyxSignature(key: KeyObject, req: Pick<WebhookRequest, 'headers' | 'rawBody'>, nowMs = Date.now()): Promise<SignatureCheck> {
  const signature = header(req.headers, 'telnyx-signature-ed25519');
  const timestamp = header(req.headers, 'telnyx-timestamp');
  if (!signature || !timestamp) return { ok: false, reason: 'missing telnyx-signature-ed25519 or telnyx-timestamp header' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'telnyx-timestamp is not Unix seconds' };
  const skew = Math.abs(nowMs / 1000 - Number(timestamp));
  if (skew > SIGNATURE_TOLERANCE_SECONDS) return { ok: false, reason: `telnyx-timestamp is ${Math.round(skew)} s away from now` };
  const sig = Buffer.from(signature, 'base64');
  if (sig.length !== 64) return { ok: false, reason: 'telnyx-signature-ed25519 is not a 64-byte Ed25519 signature' };
  const signed = Buffer.concat([Buffer.from(`${timestamp}|`, 'utf8'), req.rawBody]);
  return (await verifyOnPool(null, signed, key, sig)) ? { ok: true } : { ok: false, reason: 'signature does not match' };
}

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value)?.trim() || undefined;
}
