import { setTimeout as sleep } from 'node:timers/promises';

/** How often and how patiently a carrier request that is safe to repeat is tried. */
export type RequestRetry = { tries: number; baseDelayMs: number };

export const DEFAULT_REQUEST_RETRY: RequestRetry = { tries: 3, baseDelayMs: 200 };

/** Runs `attempt` up to `policy.tries` times, waiting baseDelayMs·2^n between tries, while `retryable` says so. */
export async function withRetry<T>(
  attempt: () => Promise<T>,
  policy: RequestRetry,
  retryable: (err: unknown) => boolean,
  onRetry?: (err: unknown, tried: number) => void,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= policy.tries || !retryable(err)) throw err;
      onRetry?.(err, n);
      await sleep(policy.baseDelayMs * 2 ** (n - 1));
    }
  }
}
