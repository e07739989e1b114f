import { endAttempt } from './attempt-end.js';
import type { CallsContext } from './context.js';
import { LIVE_SQL } from './lifecycle.js';
import type { AttemptRow } from './records.js';

/**
 * After a restart: attempts whose calls cannot report any more (the carrier forgets them, or we never
 * learned the carrier's id) end `failed` without a retry, so no number is dialed twice.
 * Claimed work always has its attempt row (same transaction), so nothing claimed is lost.
 */
export function recoverCallsAfterRestart(c: CallsContext): number {
  return c.store.tx(() => {
    const stale = c.store.sql(`SELECT * FROM call_attempts WHERE status IN (${LIVE_SQL})`).all() as AttemptRow[];
    let ended = 0;
    for (const a of stale) {
      if (c.provider.callsSurviveRestart && a.provider_call_id) continue;
      const detail = { cause: 'interrupted', code: 'interrupted', message: 'Switchboard stopped while this attempt was live; it was not retried, so the number is not dialed twice.' };
      endAttempt(c, { callId: a.call_id, attempt: a.attempt }, 'failed', detail, false);
      ended++;
    }
    return ended;
  });
}
