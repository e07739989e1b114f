import { applyCallEvent } from './carrier-events.js';
import type { CallsContext } from './context.js';

/**
 * Asks the carrier where an attempt stands and applies its answer as its callbacks would have been applied, so state
 * machines, retries and mission steps follow. `unknown`: the carrier holds no such call. Throws CarrierError when the
 * carrier cannot be asked.
 */
export async function reconcileAttempt(c: CallsContext, a: { call_id: string; attempt: number; provider_call_id: string }): Promise<'applied' | 'unknown'> {
  const state = await c.provider.callState({ providerCallId: a.provider_call_id, callId: a.call_id, attempt: a.attempt });
  if (state === 'unknown') return 'unknown';
  c.store.tx(() => {
    for (const event of state) applyCallEvent(c, event);
  });
  return 'applied';
}
