import type { Assistants } from '../assistants/assistants.js';
import type { DoNotContact } from '../guardrails/do-not-contact.js';
import type { OutboundGuard } from '../guardrails/outbound-guard.js';
import type { Insights } from '../insights/insights.js';
import type { Logger } from '../log.js';
import type { LinkedWork } from '../missions/linked-work.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Store } from '../store/store.js';
import type { TelephonyProvider } from '../telephony/provider.js';
import type { CallLedger } from './ledger.js';
import type { CallRecords } from './records.js';

export type CallsOptions = {
  fromNumber: string | undefined;
  ringTimeoutSeconds: number;
  maxCallSeconds: number;
  /** How long past its ring timeout and length limit a call may stay live before Switchboard ends it itself. */
  deadlineGraceSeconds: number;
  /** Accepted inbound calls go to the live agent (`agent`, run as the assistant named here) or wait for the client. */
  inbound: { handler: 'client' | 'agent'; assistantId: string | undefined; greeting: string };
};

/** What every part of the call lifecycle works with. */
export type CallsContext = {
  store: Store;
  records: CallRecords;
  ledger: CallLedger;
  provider: TelephonyProvider;
  scheduler: Scheduler;
  assistants: Assistants;
  insights: Insights;
  doNotContact: DoNotContact;
  /** Calling hours, daily caps and owners: asked at request time and again at dispatch. */
  guard: OutboundGuard;
  linkedWork: LinkedWork;
  log: Logger;
  opts: CallsOptions;
  /** Told of each new deadline (a new attempt, an end requested), so the one timer is armed for the earliest. */
  deadlines: { attemptStarted(startedAtMs: number): void; endRequested(): void };
};
