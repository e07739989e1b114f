import { StateMachine } from '../state-machine.js';
import { sqlList } from '../store/sql.js';
import { CALL_ENDS, type CallEnd } from '../telephony/provider.js';

export { CALL_ENDS, type CallEnd };
/** Not dialed yet: waiting for its time, or for a free line. */
export const WAITING_STATUSES = ['scheduled', 'queued'] as const;
/** At the carrier: an attempt is in flight. */
export const LIVE_STATUSES = ['dialing', 'ringing', 'in_progress'] as const;
export const CALL_STATUSES = [...WAITING_STATUSES, ...LIVE_STATUSES, ...CALL_ENDS] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];
export type LiveStatus = (typeof LIVE_STATUSES)[number];

const FINAL = Object.fromEntries(CALL_ENDS.map((end) => [end, []])) as unknown as Record<CallEnd, []>;

/**
 * A call as the client sees it. A live attempt may fall back to `scheduled` when its retry policy re-queues it, and a
 * call waiting for a line when the guardrails defer it.
 */
export const callMachine = new StateMachine<CallStatus>('call', {
  scheduled: ['queued', 'dialing', 'failed', 'canceled'],
  queued: ['scheduled', 'dialing', 'failed', 'canceled'],
  dialing: ['ringing', 'in_progress', 'scheduled', ...CALL_ENDS],
  ringing: ['in_progress', 'scheduled', ...CALL_ENDS],
  in_progress: ['scheduled', ...CALL_ENDS],
  ...FINAL,
});

export type AttemptStatus = LiveStatus | CallEnd;

/** One try at the carrier. Late or repeated carrier callbacks that would move it backwards are ignored. */
export const attemptMachine = new StateMachine<AttemptStatus>('call attempt', {
  dialing: ['ringing', 'in_progress', ...CALL_ENDS],
  ringing: ['in_progress', ...CALL_ENDS],
  in_progress: CALL_ENDS,
  ...FINAL,
});

/** Ends a retry policy may redial on; voicemail only when named (by default a machine that answered is not called back). */
export const RETRYABLE_ENDS = ['busy', 'no_answer', 'failed', 'voicemail'] as const satisfies readonly CallEnd[];
export const DEFAULT_RETRY_ON = ['busy', 'no_answer', 'failed'] as const satisfies readonly CallEnd[];
export type RetryableEnd = (typeof RETRYABLE_ENDS)[number];

/** Why a call was ended on purpose; such an end is never retried. */
export type EndReason = 'client' | 'mission_ended' | 'do_not_contact' | 'campaign_stopped';

/** How an end on purpose shows in get_call. */
export const END_REASONS: Record<EndReason, { code: string; message: string }> = {
  client: { code: 'ended_by_client', message: 'Ended on request (end_call); not retried.' },
  mission_ended: { code: 'mission_ended', message: 'Ended because its mission ended; not retried.' },
  do_not_contact: { code: 'do_not_contact', message: 'Ended because the number was put on the do-not-contact list; not retried.' },
  campaign_stopped: { code: 'campaign_stopped', message: 'Canceled before it was dialed: its campaign already found what it was looking for (stop_when).' },
};

export const isLive = (status: CallStatus): status is LiveStatus => (LIVE_STATUSES as readonly string[]).includes(status);
export const isWaiting = (status: CallStatus): boolean => (WAITING_STATUSES as readonly string[]).includes(status);

/** For SQL `IN (…)` clauses, derived from the lists above. */
export const LIVE_SQL = sqlList(LIVE_STATUSES);
export const WAITING_SQL = sqlList(WAITING_STATUSES);
export const OPEN_SQL = sqlList([...WAITING_STATUSES, ...LIVE_STATUSES]);
export const ENDED_SQL = sqlList(CALL_ENDS);
