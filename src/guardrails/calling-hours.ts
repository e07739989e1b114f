import { UserError } from '../errors.js';

/** A daily window of wall-clock time, in minutes after midnight: [start, end), wrapping past midnight when end < start. */
export type CallingHours = { start: number; end: number; text: string };

const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;
/** How far ahead an opening is looked for; a window that holds in no zone together within this never will. */
const HORIZON_MS = 8 * 24 * 60 * MINUTE_MS;
const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** What is wrong with a SWITCHBOARD_CALLING_HOURS value, or null when it is fine. */
export function callingHoursProblem(value: string): string | null {
  if (value.trim().toLowerCase() === 'off') return null;
  const [from, to, ...rest] = value.trim().split('-');
  if (rest.length || !from || !to || !HH_MM.test(from) || !HH_MM.test(to)) {
    return 'must be a window HH:MM-HH:MM in 24-hour time (the callee\'s local time), like 08:00-21:00, or off';
  }
  if (from === to) return 'must not start and end at the same minute (use off to call at any hour)';
  return null;
}

/** SWITCHBOARD_CALLING_HOURS as a window; null when it is `off`. Validated at start (see config.ts). */
export function parseCallingHours(value: string): CallingHours | null {
  const problem = callingHoursProblem(value);
  if (problem) throw new Error(`SWITCHBOARD_CALLING_HOURS ${problem}`);
  if (value.trim().toLowerCase() === 'off') return null;
  const [start, end] = value.trim().split('-').map((t) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5))) as [number, number];
  return { start, end, text: value.trim() };
}

export function inWindow(hours: CallingHours, minutes: number): boolean {
  return hours.start < hours.end ? minutes >= hours.start && minutes < hours.end : minutes >= hours.start || minutes < hours.end;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(zone, f);
  }
  return f;
}

/** The wall-clock time in `zone` at `atMs`, in minutes after midnight. */
export function localMinutes(zone: string, atMs: number): number {
  let hour = 0;
  let minute = 0;
  for (const part of formatter(zone).formatToParts(atMs)) {
    if (part.type === 'hour') hour = Number(part.value) % 24;
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return hour * 60 + minute;
}

/** `HH:MM` in `zone` at `atMs`. */
export function localTime(zone: string, atMs: number): string {
  const m = localMinutes(zone, atMs);
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/** The IANA name Intl knows `zone` by, or null when it is no time zone. */
export function canonicalTimeZone(zone: string): string | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** A `timezone` input, checked with Intl: its canonical IANA name, or a refusal saying what is wanted. */
export function checkTimeZone(value: string): string {
  const zone = canonicalTimeZone(value.trim());
  if (!zone) throw new UserError(`\`timezone\` must be an IANA time zone name such as America/New_York or Europe/Paris (got ${JSON.stringify(value)}).`);
  return zone;
}

/**
 * The first moment at or after `fromMs` when the wall clock is inside `hours` in every one of `zones` (a number
 * that may be in several zones must be called when it is a decent hour in all of them). Null when that never
 * happens within eight days: the zones are too far apart for the window.
 */
export function nextOpening(hours: CallingHours, zones: readonly string[], fromMs: number): number | null {
  let t = fromMs;
  for (let round = 0; round < 64 && t - fromMs <= HORIZON_MS; round++) {
    let later = t;
    for (const zone of zones) {
      const now = localMinutes(zone, t);
      if (inWindow(hours, now)) continue;
      // By the wall clock the window opens this many minutes from now; a daylight-saving change on the way
      // moves the wall clock, so the landing is checked and corrected.
      const minute = Math.floor(t / MINUTE_MS) * MINUTE_MS;
      let at = minute + ((hours.start - now + DAY_MINUTES) % DAY_MINUTES) * MINUTE_MS;
      const drift = ((hours.start - localMinutes(zone, at) + DAY_MINUTES + DAY_MINUTES / 2) % DAY_MINUTES) - DAY_MINUTES / 2;
      at = Math.max(at + drift * MINUTE_MS, minute + MINUTE_MS);
      later = Math.max(later, at);
    }
    // Moving for one zone may leave another's window: look again from there until all agree.
    if (later === t) return t;
    t = later;
  }
  return null;
}
