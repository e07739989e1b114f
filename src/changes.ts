import { EventEmitter } from 'node:events';

/** What changed, announced only after it is committed to the store. */
export type Change =
  | { kind: 'mission'; id: string }
  | { kind: 'call'; id: string; transcript: boolean }
  | { kind: 'message'; id: string }
  /** An inbound call is ringing through, waiting for a client to take it (nothing new is stored: the call already is). */
  | { kind: 'inbound'; id: string };

/** The in-process bus that resource subscriptions, waiters and the dashboard listen on. */
export class Changes {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(change: Change): void {
    this.emitter.emit('change', change);
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }

  /** Resolves once `done()` holds (checked now and after each relevant change) or after `timeoutMs`. */
  settle(relevant: (change: Change) => boolean, done: () => boolean, timeoutMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      const unsubscribe = this.subscribe((change) => {
        if (relevant(change) && done()) finish();
      });
    });
  }
}
