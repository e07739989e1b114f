import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'telnyx';
import { CarrierError } from '../provider.js';

// Telnyx's answer to a command on a call that already hung up.
const CALL_ALREADY_ENDED = '90018';
// Telnyx's answer about a call_control_id it does not know (never issued, or its call ended long enough ago).
const CALL_UNKNOWN = '90015';

/** Worth repeating: rate limited, a server error, or no answer at all (connection failure or timeout). */
export function isTransient(err: unknown): boolean {
  if (err instanceof APIConnectionError) return true;
  return err instanceof APIError && typeof err.status === 'number' && (err.status === 429 || err.status >= 500);
}

/**
 * An SDK failure as a CarrierError carrying Telnyx's own error code and detail. `repeatable` says whether the request
 * was idempotent (a Call Control command with a command_id); only then is a transient failure marked retryable.
 */
export function toCarrierError(err: unknown, repeatable: boolean): CarrierError {
  if (err instanceof CarrierError) return err;
  const retryable = repeatable && isTransient(err);
  if (err instanceof APIConnectionTimeoutError) return new CarrierError('Telnyx did not answer in time', 'timeout', retryable);
  if (err instanceof APIConnectionError) return new CarrierError(`Telnyx could not be reached: ${err.message}`, 'network', retryable);
  if (err instanceof APIError) {
    const first = firstError(err.error);
    const code = first?.code ?? `http_${err.status ?? 'error'}`;
    const detail = first?.detail ?? first?.title ?? err.message;
    return new CarrierError(`Telnyx refused the request (${err.status ?? 'no status'}): ${detail}`, code, retryable);
  }
  return new CarrierError(`Telnyx request failed: ${(err as Error)?.message ?? String(err)}`, 'unknown', false);
}

/** The call is gone at Telnyx, so a hangup (or anything else) has nothing left to do. */
export function isCallGone(err: CarrierError): boolean {
  return err.code === CALL_ALREADY_ENDED || isCallUnknown(err);
}

/** Telnyx holds no call by that id: its status is kept only until 10 minutes after it ended. */
export function isCallUnknown(err: CarrierError): boolean {
  return err.code === CALL_UNKNOWN || err.code === 'http_404';
}

type TelnyxErrorItem = { code?: string; title?: string; detail?: string };

function firstError(body: unknown): TelnyxErrorItem | undefined {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const e = errors[0] as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  return { code: text(e.code), title: text(e.title), detail: text(e.detail) };
}
