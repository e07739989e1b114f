import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { CarrierError } from '../telephony/provider.js';
import type { Scheduler, WorkItem } from './scheduler.js';

/** How one kind of outbound work (a call attempt, an SMS) goes from due to handed to the carrier. */
export type OutboundFlow<Request, Accepted> = {
  /** Inside the transaction that claims the item: checks it and records the dispatch. Null when nothing is to be sent. */
  prepare(refId: string): Request | null;
  /** The carrier request, after that transaction committed. */
  send(request: Request): Promise<Accepted>;
  /** In a transaction: the carrier took it. */
  accepted(request: Request, accepted: Accepted): void;
  /** In a transaction: the carrier refused it or could not be reached. */
  refused(request: Request, error: CarrierError): void;
};

/**
 * Calls and SMS share this flow: claim and record in one transaction (so nothing is sent twice), then the
 * carrier, then its answer in a second transaction. A failure to record the answer (a full disk) is logged;
 * the work stays as recorded and restart recovery settles it. True when the work went to the carrier.
 */
export function dispatchOutbound<Request, Accepted>(store: Store, scheduler: Scheduler, item: WorkItem, flow: OutboundFlow<Request, Accepted>, log: Logger): boolean {
  const request = store.tx(() => (scheduler.claim(item.id) ? flow.prepare(item.ref_id) : null));
  if (!request) return false;
  flow
    .send(request)
    .then(
      (accepted) => store.tx(() => flow.accepted(request, accepted)),
      (err: unknown) => {
        const carrier = err instanceof CarrierError ? err : new CarrierError(String((err as Error)?.message ?? err), 'carrier_error');
        log.warn({ kind: item.kind, refId: item.ref_id, code: carrier.code }, 'carrier refused the work');
        store.tx(() => flow.refused(request, carrier));
      },
    )
    .catch((err: unknown) => log.error({ err, kind: item.kind, refId: item.ref_id }, 'could not record the carrier’s answer'));
  return true;
}
