import { UserError } from './errors.js';

/**
 * Serialises a client-supplied value, refusing what JSON cannot carry (undefined, NaN, cycles, functions) and,
 * with `maxBytes`, what is too big to keep. Keys are kept as given, `__proto__` included: they are plain JSON.
 */
export function toJsonText(value: unknown, field: string, maxBytes?: number): string {
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
  const bytes = Buffer.byteLength(text);
  if (maxBytes !== undefined && bytes > maxBytes) {
    throw new UserError(`\`${field}\` is ${bytes.toLocaleString('en')} bytes as JSON; at most ${maxBytes.toLocaleString('en')} are kept. Store less, or split it.`);
  }
  return text;
}

export function fromJsonText<T = unknown>(text: string | null | undefined): T | undefined {
  return text == null ? undefined : (JSON.parse(text) as T);
}

/**
 * The value of the first `"name":"…"` in a JSON text, for frames whose shape is known and whose values need no
 * unescaping (ids, base64), or undefined. Cheap enough for every audio frame; what it cannot read goes to JSON.parse.
 */
export function stringField(text: string, name: string): string | undefined {
  const key = `"${name}":"`;
  const start = text.indexOf(key);
  if (start < 0) return undefined;
  const from = start + key.length;
  const end = text.indexOf('"', from);
  if (end < 0) return undefined;
  const value = text.slice(from, end);
  return value.includes('\\') ? undefined : value;
}
