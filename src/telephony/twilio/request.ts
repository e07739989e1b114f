import type { Logger } from '../../log.js';
import { CarrierError } from '../provider.js';
import { withRetry, type RequestRetry } from '../retry.js';

/** Twilio's answers for a call it no longer has live (20404 not found, 21220 not in progress). */
const CALL_GONE = new Set(['20404', '21220']);

/** The request failed because the call is over (or never was): there is nothing left to act on. */
export const isCallGone = (err: unknown): boolean => err instanceof CarrierError && CALL_GONE.has(err.code);

type Failure = { message: string; code: string; transient: boolean; neverReachedTwilio: boolean };

/**
 * Runs one Twilio REST request. Transient failures (429, 5xx, timeouts, network) are retried with
 * backoff only when `idempotent`: Twilio documents no idempotency key for Calls or Messages create,
 * so repeating one after an unclear failure could dial or text twice.
 */
export async function requestTwilio<T>(
  what: string,
  send: () => Promise<T>,
  opts: { idempotent: boolean; retry: RequestRetry; log: Logger },
): Promise<T> {
  try {
    return await withRetry(send, opts.retry, (err) => opts.idempotent && describeFailure(err).transient, (err, attempt) =>
      opts.log.warn({ op: what, attempt, code: describeFailure(err).code }, 'Twilio request failed; retrying'),
    );
  } catch (err) {
    throw toCarrierError(what, describeFailure(err), opts.idempotent);
  }
}

// A refused request had no effect, so even a create may be repeated later; an unclear one may have dialed.
function toCarrierError(what: string, f: Failure, idempotent: boolean): CarrierError {
  return new CarrierError(`Twilio ${what} failed: ${f.message}`, f.code, f.transient && (idempotent || f.neverReachedTwilio));
}

const TIMEOUTS = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT']);
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

function describeFailure(err: unknown): Failure {
  const e = (err ?? {}) as { status?: unknown; code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' && e.message ? e.message : String(err);
  if (typeof e.status === 'number') {
    // RestException / TwilioServiceException: Twilio answered with an error body {code, message, more_info, status}.
    const status = e.status;
    const code = typeof e.code === 'number' || typeof e.code === 'string' ? String(e.code) : String(status);
    return { message: `${message} (HTTP ${status}, code ${code})`, code, transient: status === 429 || status >= 500, neverReachedTwilio: status === 429 };
  }
  const netCode = typeof e.code === 'string' ? e.code : '';
  if (TIMEOUTS.has(netCode)) return { message: `no answer in time (${message})`, code: 'timeout', transient: true, neverReachedTwilio: false };
  if (UNREACHABLE.has(netCode)) return { message: `cannot reach Twilio (${message})`, code: netCode, transient: true, neverReachedTwilio: true };
  if (netCode) return { message, code: netCode, transient: netCode === 'ECONNRESET', neverReachedTwilio: false };
  return { message, code: 'unknown', transient: false, neverReachedTwilio: false };
}
