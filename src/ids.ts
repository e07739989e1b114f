import { randomBytes } from 'node:crypto';

export type IdPrefix = 'msn' | 'call' | 'sms' | 'asst' | 'evt';

/** Opaque, prefixed, sortable-enough ids: `call_` + time + randomness. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
}
