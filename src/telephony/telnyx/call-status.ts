import type { CallEvent, CallRef } from '../provider.js';
import { decodeClientState } from './client-state.js';
import { endStatus } from './events.js';
import type { TelnyxCallStatus } from './rest.js';

/**
 * Telnyx's call status (GET /v2/calls/{id}) as events. It says whether the call is alive and, once over, how long
 * it talked and when it ended, but not why: an ended call that talked (or that we saw answered) is completed, or a
 * voicemail when our client_state marked a machine; one that never talked ended unanswered for a reason Telnyx no
 * longer gives, so it failed.
 */
export function callStatusEvents(status: TelnyxCallStatus, ref: CallRef, answeredBefore: boolean): CallEvent[] {
  if (status.is_alive) return [];
  const parsed = status.end_time ? Date.parse(status.end_time) : Number.NaN;
  const endedAt = Number.isNaN(parsed) ? Date.now() : parsed;
  const talked = status.call_duration ?? 0;
  const ended = endStatus('unspecified', answeredBefore || talked > 0, decodeClientState(status.client_state)?.machine === true);
  const answered: CallEvent[] = talked > 0 ? [{ ...ref, type: 'call.answered', at: new Date(endedAt - talked * 1000).toISOString() }] : [];
  const why = ended === 'failed' ? { errorMessage: 'Telnyx reports the call ended unanswered; it keeps no reason once a call is over.' } : {};
  return [...answered, { ...ref, type: 'call.ended', status: ended, ...why, at: new Date(endedAt).toISOString() }];
}
