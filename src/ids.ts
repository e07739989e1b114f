import { randomFillSync } from 'node:crypto';

export type IdPrefix = 'msn' | 'call' | 'sms' | 'asst' | 'evt';

const RANDOM_BYTES = 6;
// One call into the CSPRNG per 1,024 ids: the call costs ~2 µs, the bytes almost nothing.
const pool = Buffer.alloc(RANDOM_BYTES * 1024);
let offset = pool.length;

/** Opaque, prefixed, sortable-enough ids: `call_` + time + randomness. */
export function newId(prefix: IdPrefix): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const random = pool.toString('hex', offset, (offset += RANDOM_BYTES));
  return `${prefix}_${Date.now().toString(36)}${random}`;
}
