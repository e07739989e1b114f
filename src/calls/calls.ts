import type { AgentReport } from '../insights/insights.js';
import type { WorkItem } from '../scheduler/scheduler.js';
import type { Store } from '../store/store.js';
import type { CallRef, CarrierEvent, LiveCallInfo } from '../telephony/provider.js';
import { agentPlan, applyCallEvent, liveInfo, recordInbound, recordReport } from './carrier-events.js';
import type { CallsContext, CallsOptions } from './context.js';
import { confirmDial, dispatchCall, holdForMission, liveCount, markWaiting, releaseForMission } from './dispatch.js';
import { CallDeadlines } from './deadlines.js';
import { endAndConfirm, endForMission, endForNumber, endOnPurpose } from './ending.js';
import { isWaiting } from './lifecycle.js';
import { CallLedger } from './ledger.js';
import { CallRecords, type Call, type CallSummary, type TranscriptTurn } from './records.js';
import { recoverCallsAfterRestart } from './recovery.js';
import { initiateCall, type InitiateCallInput } from './requests.js';

export type { CallsOptions, InitiateCallInput };

/**
 * Calls from request to final status. Each stage lives in its own file (requests, dispatch, carrier-events,
 * attempt-end, ending, recovery) over one ledger that alone changes a call's status; this is their front door.
 */
export class Calls {
  readonly records: CallRecords;
  private readonly c: CallsContext;
  private readonly deadlines = new CallDeadlines();

  constructor(
    store: Store,
    deps: Omit<CallsContext, 'store' | 'records' | 'ledger' | 'opts' | 'deadlines'>,
    opts: CallsOptions,
  ) {
    this.records = new CallRecords(store, deps.insights);
    const ledger = new CallLedger(store, this.records, deps.insights, deps.linkedWork, deps.provider.name);
    this.c = { store, records: this.records, ledger, ...deps, opts, deadlines: this.deadlines };
  }

  get = (callId: string): Call => this.records.get(callId);
  list = (filter?: Parameters<CallRecords['list']>[0]): CallSummary[] => this.records.list(filter);
  summary = (callId: string): CallSummary => this.records.summary(callId);
  transcript = (callId: string): TranscriptTurn[] => this.records.transcript(callId);
  statusOf = (callId: string) => this.records.statusOf(callId);
  linkedItems = (missionId: string, stepId: string) => this.records.linkedItems(missionId, stepId);

  initiate = (input: InitiateCallInput): { call: Call; created: boolean } => initiateCall(this.c, input);
  /** A call placed now answers once the carrier took it; a refusal is an error. */
  confirmDial = (callId: string, timeoutMs?: number): Promise<Call> => confirmDial(this.c, callId, timeoutMs);
  dispatch = (item: WorkItem): boolean => dispatchCall(this.c, item);
  markWaiting = (callId: string): void => markWaiting(this.c, callId);
  liveCount = (): number => liveCount(this.c);

  /**
   * `end_call`: cancels a call that has not been dialed, or hangs up a live one and answers once it has ended (here,
   * when the carrier does not report it within seconds). Ending an ended call changes nothing.
   */
  async end(callId: string): Promise<Call> {
    await endAndConfirm(this.c, callId);
    return this.get(callId);
  }
  endForMission = (missionId: string): void => endForMission(this.c, missionId);
  endForNumber = (number: string): void => endForNumber(this.c, number);
  /** A campaign found its answer: a call not dialed yet never will be (a live one finishes). */
  cancelIfWaiting = (callId: string): void => {
    if (isWaiting(this.records.statusOf(callId).status)) endOnPurpose(this.c, callId, 'campaign_stopped');
  };
  holdForMission = (missionId: string): void => holdForMission(this.c, missionId);
  releaseForMission = (missionId: string): void => releaseForMission(this.c, missionId);

  apply(event: Extract<CarrierEvent, CallRef>): void {
    if (event.type !== 'call.inbound') applyCallEvent(this.c, event);
  }
  recordInbound = (event: Extract<CarrierEvent, { type: 'call.inbound' }>): void => recordInbound(this.c, event);
  agentPlan = (ref: CallRef): ReturnType<typeof agentPlan> => agentPlan(this.c, ref);
  liveInfo = (ref: CallRef): LiveCallInfo | undefined => liveInfo(this.c, ref);
  recordReport = (callId: string, report: AgentReport): void => recordReport(this.c, callId, report);
  recoverAfterRestart = (): Promise<number> => recoverCallsAfterRestart(this.c);
  /** Ends every live call at its deadline from now on; start after recovery. */
  watchDeadlines = (): void => this.deadlines.start(this.c);
  /** Stops enforcing deadlines: the app is shutting down. */
  stop = (): void => this.deadlines.stop();
}
