import { endAttempt } from './attempt-end.js';
import type { CallsContext } from './context.js';
import { LIVE_SQL } from './lifecycle.js';
import { reconcileAttempt } from './reconcile.js';
import type { AttemptRow } from './records.js';

const INTERRUPTED = {
  cause: 'interrupted',
  code: 'interrupted',
  message: 'Switchboard stopped while this attempt was live and the carrier cannot say how it ended; it was not retried, so the number is not dialed twice.',
};
/** Carriers asked at once, so a restart with many live calls neither waits on each in turn nor floods the carrier. */
const PARALLEL = 10;

/**
 * After a restart, before dispatch resumes: each attempt left live is brought up to date from its carrier. What the
 * carrier says applies like its callbacks; a call still up stays live (its callbacks resume and its deadline holds).
 * One the carrier does not know (the sim after a restart, or one long over) or whose carrier id we never learned ends
 * `failed` without a retry, so no number is dialed twice. A carrier that cannot be reached leaves the call live until
 * its deadline. Returns how many attempts ended interrupted.
 */
export async function recoverCallsAfterRestart(c: CallsContext): Promise<number> {
  const stale = c.store.sql(`SELECT * FROM call_attempts WHERE status IN (${LIVE_SQL})`).all() as AttemptRow[];
  let interrupted = 0;
  for (let i = 0; i < stale.length; i += PARALLEL) {
    const outcomes = await Promise.all(stale.slice(i, i + PARALLEL).map((a) => recoverAttempt(c, a)));
    interrupted += outcomes.filter((o) => o === 'interrupted').length;
  }
  return interrupted;
}

async function recoverAttempt(c: CallsContext, a: AttemptRow): Promise<'reconciled' | 'interrupted' | 'unreachable'> {
  const providerCallId = a.provider_call_id;
  try {
    if (providerCallId && (await reconcileAttempt(c, { ...a, provider_call_id: providerCallId })) === 'applied') return 'reconciled';
  } catch (err) {
    c.log.warn({ err, callId: a.call_id, attempt: a.attempt }, 'cannot ask the carrier about a call left live; it stays live until its deadline');
    return 'unreachable';
  }
  c.store.tx(() => endAttempt(c, { callId: a.call_id, attempt: a.attempt }, 'failed', INTERRUPTED, false));
  return 'interrupted';
}
