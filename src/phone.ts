import { createRequire } from 'node:module';
import { UserError } from './errors.js';

type Lib = typeof import('libphonenumber-js');
let lib: Lib | undefined;
// Its metadata takes ~80 ms to load; start-up (and `initialize`) should not wait for it.
const phoneLib = (): Lib => (lib ??= createRequire(import.meta.url)('libphonenumber-js') as Lib);

/** Written like E.164 (+, country code, 7–15 digits), without asking the numbering plan; cheap, for hot paths. */
export function hasE164Shape(value: string): boolean {
  return /^\+[1-9]\d{6,14}$/.test(value);
}

/** True when `value` is already a valid number written in E.164 (`+15551234567`). */
export function isE164(value: string): boolean {
  if (!hasE164Shape(value)) return false;
  const parsed = phoneLib().parsePhoneNumberFromString(value);
  return parsed !== undefined && parsed.number === value && (parsed.isPossible() || isReservedTestNumber(value));
}

// NANP 555-01xx numbers are reserved for fiction and tests; the simulated directory uses them.
function isReservedTestNumber(value: string): boolean {
  return /^\+1[2-9]\d{2}5550\d{3}$/.test(value);
}

/** The number a call or SMS goes out from: the one asked for, else the configured default. */
export function senderNumber(given: string | undefined, fallback: string | undefined): string {
  const from = given ?? fallback;
  if (from === undefined) throw new UserError('No caller id: pass `from`.', { hint: { see: 'setting', setting: 'default_caller_id' } });
  if (!isE164(from)) throw new UserError(e164Message('from', from));
  return from;
}

/** The sentence a tool answers with when a number is not E.164. */
export function e164Message(field: string, value: string): string {
  return `\`${field}\` must be an E.164 phone number like +15551234567 (got ${JSON.stringify(value)}); add the + and country code, no spaces or dashes.`;
}
