import type { Calls } from './calls.js';
import type { CallSummary } from './records.js';
import type { Changes } from '../changes.js';
import { UserError } from '../errors.js';
import type { Missions } from '../missions/missions.js';
import { callMachine, type CallStatus } from './lifecycle.js';

export type WaitOptions = {
  callIds?: string[];
  missionId?: string;
  until: 'any' | 'all';
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, message: string) => Promise<void>;
};

/**
 * Resolves as soon as the calls meet the condition, on timeout, or on abort. Each call change updates
 * one entry of a status map, so waiting on hundreds of calls stays cheap.
 */
export async function waitForCalls(
  app: { calls: Calls; changes: Changes; missions: Missions },
  opts: WaitOptions,
): Promise<{ done: boolean; timed_out: boolean; calls: CallSummary[] }> {
  if ((opts.callIds === undefined) === (opts.missionId === undefined)) {
    throw new UserError('Pass exactly one of `call_ids` or `mission_id`.');
  }
  if (opts.callIds?.length === 0) throw new UserError('`call_ids` must list at least one call id.');
  const missionId = opts.missionId === undefined ? undefined : app.missions.resolveId(opts.missionId);

  const statuses = new Map<string, CallStatus>();
  if (missionId !== undefined) for (const c of app.calls.list({ mission_id: missionId, limit: 500 })) statuses.set(c.call_id, c.status);
  else for (const id of opts.callIds!) statuses.set(id, app.calls.statusOf(id).status);

  const finishedCount = () => [...statuses.values()].filter((s) => callMachine.isTerminal(s)).length;
  const met = () => {
    const finished = finishedCount();
    return statuses.size > 0 && (opts.until === 'any' ? finished > 0 : finished === statuses.size);
  };
  const summaries = (): CallSummary[] =>
    missionId !== undefined ? app.calls.list({ mission_id: missionId, limit: 500 }) : [...statuses.keys()].map((id) => app.calls.summary(id));

  if (met()) return { done: true, timed_out: false, calls: summaries() };
  // A mission with no calls has nothing left to wait for; waiting would only burn the timeout.
  if (statuses.size === 0) return { done: true, timed_out: false, calls: [] };

  return new Promise((resolve) => {
    const report = () => {
      const finished = finishedCount();
      void opts.onProgress?.(finished, statuses.size, `${finished} of ${statuses.size} call(s) finished`).catch(() => undefined);
    };
    let lastFinished = finishedCount();
    report();
    // A heartbeat too, so clients that time out idle requests keep waiting.
    const heartbeat = setInterval(report, 5000);
    const finish = (timedOut: boolean) => {
      clearTimeout(timer);
      clearInterval(heartbeat);
      unsubscribe();
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ done: met(), timed_out: timedOut, calls: summaries() });
    };
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(true), opts.timeoutMs);
    const unsubscribe = app.changes.subscribe((change) => {
      if (change.kind !== 'call' || change.transcript) return;
      if (!statuses.has(change.id)) {
        if (missionId === undefined) return;
        const { mission_id } = app.calls.statusOf(change.id);
        if (mission_id !== missionId) return;
      }
      statuses.set(change.id, app.calls.statusOf(change.id).status);
      if (met()) return finish(false);
      const finished = finishedCount();
      if (finished !== lastFinished) {
        lastFinished = finished;
        report();
      }
    });
    opts.signal?.addEventListener('abort', onAbort);
  });
}

/**
 * `until: "inbound"`: resolves the moment an inbound call rings through to be taken by a client (one already
 * waiting counts), with every such call; or on timeout or abort.
 */
export async function waitForInbound(
  app: { calls: Calls; changes: Changes; conversations: { unclaimedInbound(): string[] } },
  opts: Pick<WaitOptions, 'timeoutMs' | 'signal' | 'onProgress'>,
): Promise<{ done: boolean; timed_out: boolean; calls: CallSummary[] }> {
  const waiting = () => app.conversations.unclaimedInbound().map((id) => app.calls.summary(id));
  const now = waiting();
  if (now.length) return { done: true, timed_out: false, calls: now };
  return new Promise((resolve) => {
    const heartbeat = setInterval(() => void opts.onProgress?.(0, 1, 'waiting for an inbound call').catch(() => undefined), 5000);
    const finish = (timedOut: boolean) => {
      clearTimeout(timer);
      clearInterval(heartbeat);
      unsubscribe();
      opts.signal?.removeEventListener('abort', onAbort);
      const calls = waiting();
      resolve({ done: calls.length > 0, timed_out: timedOut, calls });
    };
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(true), opts.timeoutMs);
    const unsubscribe = app.changes.subscribe((change) => {
      if (change.kind === 'inbound') finish(false);
    });
    opts.signal?.addEventListener('abort', onAbort);
  });
}
