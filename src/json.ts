import { UserError } from './errors.js';

/** Serialises a client-supplied value, refusing what JSON cannot carry (undefined, NaN, cycles, functions). */
export function toJsonText(value: unknown, field: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, (_k, v) => {
      if (typeof v === 'number' && !Number.isFinite(v)) throw new Error('non-finite number');
      if (typeof v === 'function' || typeof v === 'bigint' || typeof v === 'symbol') throw new Error(`a ${typeof v}`);
      return v;
    });
  } catch (err) {
    throw new UserError(`\`${field}\` must be a JSON value (${(err as Error).message}).`);
  }
  if (text === undefined) throw new UserError(`\`${field}\` must be a JSON value: string, number, boolean, null, array or object.`);
  return text;
}

export function fromJsonText<T = unknown>(text: string | null | undefined): T | undefined {
  return text == null ? undefined : (JSON.parse(text) as T);
}
