import type { Calls, CallSummary } from './calls.js';
import type { Changes } from '../changes.js';
import { UserError } from '../errors.js';
import type { Missions } from '../missions/missions.js';
import { callMachine } from './lifecycle.js';

export type WaitOptions = {
  callIds?: string[];
  missionId?: string;
  until: 'any' | 'all';
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, message: string) => Promise<void>;
};

/** Resolves as soon as the calls meet the condition, on timeout, or on abort; re-checks on every call change. */
export async function waitForCalls(
  app: { calls: Calls; changes: Changes; missions: Missions },
  opts: WaitOptions,
): Promise<{ done: boolean; timed_out: boolean; calls: CallSummary[] }> {
  if ((opts.callIds === undefined) === (opts.missionId === undefined)) {
    throw new UserError('Pass exactly one of `call_ids` or `mission_id`.');
  }
  const missionId = opts.missionId === undefined ? undefined : app.missions.resolveId(opts.missionId);
  if (opts.callIds?.length === 0) throw new UserError('`call_ids` must list at least one call id.');
  opts.callIds?.forEach((id) => app.calls.get(id));

  const snapshot = (): CallSummary[] =>
    missionId !== undefined
      ? app.calls.list({ mission_id: missionId, limit: 500 })
      : opts.callIds!.map((id) => {
          const c = app.calls.get(id);
          return { ...c, attempts: c.attempts.length };
        });
  const met = (calls: CallSummary[]) => {
    const finished = calls.filter((c) => callMachine.isTerminal(c.status)).length;
    return { finished, ok: calls.length > 0 && (opts.until === 'any' ? finished > 0 : finished === calls.length) };
  };

  let calls = snapshot();
  if (met(calls).ok) return { done: true, timed_out: false, calls };

  return new Promise((resolve) => {
    const report = () => {
      const { finished } = met(calls);
      void opts.onProgress?.(finished, calls.length, `${finished} of ${calls.length} call(s) finished`).catch(() => undefined);
    };
    let lastFinished = met(calls).finished;
    report();
    // A heartbeat too, so clients that time out idle requests keep waiting.
    const heartbeat = setInterval(report, 5000);
    const finish = (timedOut: boolean) => {
      clearTimeout(timer);
      clearInterval(heartbeat);
      unsubscribe();
      opts.signal?.removeEventListener('abort', onAbort);
      calls = snapshot();
      resolve({ done: met(calls).ok, timed_out: timedOut, calls });
    };
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(true), opts.timeoutMs);
    const watched = new Set(opts.callIds ?? []);
    const unsubscribe = app.changes.subscribe((change) => {
      if (change.kind !== 'call' || change.transcript) return;
      if (missionId === undefined && !watched.has(change.id)) return;
      calls = snapshot();
      const { finished, ok } = met(calls);
      if (ok) return finish(false);
      if (finished !== lastFinished) {
        lastFinished = finished;
        report();
      }
    });
    opts.signal?.addEventListener('abort', onAbort);
  });
}
