/** How often and how patiently an idempotent Telnyx command is repeated. */
export type RetryPolicy = { tries: number; baseDelayMs: number };

export const DEFAULT_RETRY: RetryPolicy = { tries: 3, baseDelayMs: 200 };

/** Runs `attempt` up to `policy.tries` times, waiting baseDelayMs·2^n between tries, while `transient` says so. */
export async function withRetry<T>(attempt: () => Promise<T>, policy: RetryPolicy, transient: (err: unknown) => boolean): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n + 1 >= policy.tries || !transient(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, policy.baseDelayMs * 2 ** n));
    }
  }
}
