import { StateMachine } from '../state-machine.js';

export const CALL_STATUSES = [
  'scheduled', 'queued', 'dialing', 'ringing', 'in_progress',
  'completed', 'busy', 'no_answer', 'voicemail', 'failed', 'canceled',
] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];
export type CallEnd = 'completed' | 'busy' | 'no_answer' | 'voicemail' | 'failed' | 'canceled';
const ENDS: CallEnd[] = ['completed', 'busy', 'no_answer', 'voicemail', 'failed', 'canceled'];
const FINAL = Object.fromEntries(ENDS.map((end) => [end, []])) as unknown as Record<CallEnd, []>;

/** A call as the client sees it. A live attempt may fall back to `scheduled` when its retry policy re-queues it. */
export const callMachine = new StateMachine<CallStatus>('call', {
  scheduled: ['queued', 'dialing', 'failed', 'canceled'],
  queued: ['dialing', 'failed', 'canceled'],
  dialing: ['ringing', 'in_progress', 'scheduled', ...ENDS],
  ringing: ['in_progress', 'scheduled', ...ENDS],
  in_progress: ['scheduled', ...ENDS],
  ...FINAL,
});

export type AttemptStatus = 'dialing' | 'ringing' | 'in_progress' | CallEnd;

/** One try at the carrier. Late or repeated carrier callbacks that would move it backwards are ignored. */
export const attemptMachine = new StateMachine<AttemptStatus>('call attempt', {
  dialing: ['ringing', 'in_progress', ...ENDS],
  ringing: ['in_progress', ...ENDS],
  in_progress: ENDS,
  ...FINAL,
});

export const LIVE_STATUSES: readonly CallStatus[] = ['dialing', 'ringing', 'in_progress'];
export const RETRYABLE_ENDS = ['busy', 'no_answer', 'failed'] as const;
export type RetryableEnd = (typeof RETRYABLE_ENDS)[number];
