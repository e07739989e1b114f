import { StateMachine } from '../state-machine.js';

export const SMS_STATUSES = ['scheduled', 'queued', 'sent', 'delivered', 'failed', 'canceled', 'received'] as const;
export type SmsStatus = (typeof SMS_STATUSES)[number];

/** Where an outbound message stops: a linked step settles once all its messages are here. */
export const SMS_OUTBOUND_FINAL = ['delivered', 'failed', 'canceled'] as const satisfies readonly SmsStatus[];

export const smsMachine = new StateMachine<SmsStatus>('message', {
  scheduled: ['queued', 'failed', 'canceled'],
  queued: ['sent', 'delivered', 'failed', 'canceled'],
  sent: ['delivered', 'failed'],
  delivered: [],
  failed: [],
  canceled: [],
  received: [],
});
