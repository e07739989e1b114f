import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { nextOpening, parseCallingHours } from '../../src/guardrails/calling-hours.js';
import { capFreeAt, DAY_MS } from '../../src/guardrails/daily-caps.js';
import { zonesOfNumber } from '../../src/guardrails/number-zones.js';
import { asksNotToBeCalled } from '../../src/guardrails/opt-out.js';

const at = (iso: string) => Date.parse(iso);
const isoOf = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const DAY = parseCallingHours('08:00-21:00')!;

describe('SWITCHBOARD_CALLING_HOURS', () => {
  const load = (value: string) => loadConfig({ SWITCHBOARD_DATA_DIR: join(tmpdir(), 'switchboard-guardrails-none'), SWITCHBOARD_CALLING_HOURS: value });

  it('defaults to 08:00-21:00, and off turns it off', () => {
    expect(loadConfig({ SWITCHBOARD_DATA_DIR: join(tmpdir(), 'switchboard-guardrails-none') }).SWITCHBOARD_CALLING_HOURS).toBe('08:00-21:00');
    expect(parseCallingHours(load('off').SWITCHBOARD_CALLING_HOURS)).toBeNull();
    expect(parseCallingHours('09:30-17:45')).toEqual({ start: 570, end: 1065, text: '09:30-17:45' });
  });

  it('refuses a malformed window at start with one clear line', () => {
    for (const bad of ['8-21', '08:00-25:00', '08:00', '08:00-21:00-22:00', '09:00-09:00']) {
      expect(() => load(bad)).toThrow(ConfigError);
    }
    expect(() => load('8-21')).toThrow(/SWITCHBOARD_CALLING_HOURS: must be a window HH:MM-HH:MM .*like 08:00-21:00, or off \(got "8-21"\)/);
  });
});

describe('the next opening of the window', () => {
  it('is now inside the window, else the next start by the local wall clock', () => {
    expect(isoOf(nextOpening(DAY, ['America/New_York'], at('2026-01-15T15:00:00Z')))).toBe('2026-01-15T15:00:00.000Z');
    expect(isoOf(nextOpening(DAY, ['America/New_York'], at('2026-01-15T12:59:30Z')))).toBe('2026-01-15T13:00:00.000Z');
    expect(isoOf(nextOpening(DAY, ['America/New_York'], at('2026-01-16T02:00:00Z')))).toBe('2026-01-16T13:00:00.000Z'); // 21:00 is closed
  });

  it('follows daylight saving time: 08:00 New York is 12:00 UTC after the spring change, 13:00 after the fall one', () => {
    expect(isoOf(nextOpening(DAY, ['America/New_York'], at('2026-03-08T06:30:00Z')))).toBe('2026-03-08T12:00:00.000Z');
    expect(isoOf(nextOpening(DAY, ['America/New_York'], at('2026-11-01T05:30:00Z')))).toBe('2026-11-01T13:00:00.000Z');
  });

  it('holds in every zone at once, and is null when the zones never share the window', () => {
    expect(isoOf(nextOpening(DAY, ['America/Denver', 'America/Chicago'], at('2026-01-15T14:30:00Z')))).toBe('2026-01-15T15:00:00.000Z');
    expect(nextOpening(parseCallingHours('09:00-17:00')!, ['Pacific/Guam', 'America/St_Johns'], at('2026-01-15T12:00:00Z'))).toBeNull();
  });

  it('wraps past midnight for a night window', () => {
    expect(isoOf(nextOpening(parseCallingHours('22:00-06:00')!, ['Europe/Paris'], at('2026-01-15T12:00:00Z')))).toBe('2026-01-15T21:00:00.000Z');
    expect(isoOf(nextOpening(parseCallingHours('22:00-06:00')!, ['Europe/Paris'], at('2026-01-15T02:00:00Z')))).toBe('2026-01-15T02:00:00.000Z');
  });
});

describe('zones of a number (Google libphonenumber’s map)', () => {
  it('knows one zone, several, or none', () => {
    expect(zonesOfNumber('+12125550123')).toEqual(['America/New_York']);
    expect(zonesOfNumber('+33155550123')).toEqual(['Europe/Paris']);
    expect(zonesOfNumber('+16055550123')).toEqual(['America/Denver', 'America/North_Dakota/Center']);
    expect(zonesOfNumber('+18005550123')).toHaveLength(42);
    expect(zonesOfNumber('+80012345678')).toBeNull();
  });
});

describe('daily caps', () => {
  it('frees when enough contacts are 24 h old', () => {
    const t = at('2026-01-15T12:00:00Z');
    expect(capFreeAt(undefined, t)).toBe(t); // fewer contacts than the cap
    expect(capFreeAt(t - 3000, t)).toBe(t - 3000 + DAY_MS); // the cap-th latest frees the slot when 24 h old
  });
});

describe('opt-out phrases', () => {
  it('hears the unmistakable requests and their close variants', () => {
    for (const said of [
      "Don't call me again.",
      'Please do not call me anymore!',
      'dont call me again',
      'Never call this number again',
      'STOP CALLING ME',
      'Stop calling this number.',
      'Remove me from your list',
      'take me off your calling list please',
      'Take us off the list',
      'Please put me on your do-not-call list',
      'Don’t call me again',
      'do not ever contact me again',
      'Remove my number from your call list',
    ]) {
      expect(asksNotToBeCalled(said), said).toBe(true);
    }
  });

  it('leaves everyday sentences alone', () => {
    for (const said of ["Don't call me before 9.", 'Call me again tomorrow', 'I will stop calling you', "Don't call me back, I'll call you", 'The list is long', 'Stop by anytime', "Don't call me Shirley"]) {
      expect(asksNotToBeCalled(said), said).toBe(false);
    }
  });
});
