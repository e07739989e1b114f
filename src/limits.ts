import { UserError } from './errors.js';

/** How much one field may hold: enough for any real use, small enough that no request can swamp the store. */
export const LIMITS = {
  name: 200,
  instructions: 20_000,
  request: 20_000,
  stepDescription: 2_000,
  summary: 4_000,
  memoryKey: 200,
  /** JSON bytes. */
  memoryValue: 64 * 1024,
  payload: 64 * 1024,
  metadata: 16 * 1024,
  result: 256 * 1024,
} as const;

/** Refuses text longer than `max` characters with a sentence that says how long it was. */
export function capText(field: string, value: string, max: number): string {
  if (value.length > max) throw new UserError(`\`${field}\` is ${value.length.toLocaleString('en')} characters; at most ${max.toLocaleString('en')} are kept. Shorten it.`);
  return value;
}

/** The longest a tool waits before answering (wait_for_calls, continue_call): under the 60 s most MCP clients allow a request. */
export const MAX_WAIT_SECONDS = 50;
