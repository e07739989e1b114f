import { UserError } from '../errors.js';
import type { Store } from '../store/store.js';
import { iso, type Clock } from '../time.js';
import { inWindow, localMinutes, localTime, nextOpening, type CallingHours } from './calling-hours.js';
import { capFreeAt, ContactLog, DAY_MS, type ContactKind } from './daily-caps.js';
import { loadNumberZones, zonesOfNumber } from './number-zones.js';

export type GuardSettings = {
  /** Null: calling hours are off. */
  hours: CallingHours | null;
  /** The people the agent works for: exempt from calling hours and caps. */
  owners: readonly string[];
  maxPerDay: Record<ContactKind, number>;
  /** Where the carrier itself places a number (the simulated carrier's people), before the number's own zones. */
  zoneOf?: (number: string) => string | undefined;
};

/** Why work was moved later, as get_call and list_messages show it (`until` as ISO 8601). */
export type DeferralCode = 'calling_hours' | 'daily_cap';
export type Deferral = { until: number; code: DeferralCode; reason: string };
/** Codes of work refused outright (ended `failed` at dispatch, isError at request time). */
export type RefusalCode = 'no_time_zone' | 'calling_hours';

/** A deferral as get_call and list_messages show it. */
export type Deferred = { until: string; code: string; reason: string };

/** The deferral kept on a call or message row, if any. */
export function deferredOf(row: { deferred_until: string | null; deferred_code: string | null; deferred_reason: string | null }): Deferred | null {
  return row.deferred_until ? { until: row.deferred_until, code: row.deferred_code ?? 'deferred', reason: row.deferred_reason ?? '' } : null;
}

export type Verdict = { kind: 'go' } | ({ kind: 'defer' } & Deferral) | { kind: 'refuse'; code: RefusalCode; message: string };

const GO: Verdict = { kind: 'go' };
const NOUN: Record<ContactKind, [one: string, many: string, done: string]> = { call: ['call', 'calls', 'dialed'], sms: ['SMS', 'SMS', 'sent'] };

/**
 * Calling hours and daily caps for every outbound call and SMS. `check` answers when work to a number may go out;
 * it is asked at request time (for the answer) and again in the transaction that dispatches the work (so scheduled,
 * retried and recovered work obeys it too, whatever changed since), where `record` then counts the contact.
 */
export class OutboundGuard {
  private readonly contacts: ContactLog;

  constructor(
    store: Store,
    private readonly settings: GuardSettings,
    readonly clock: Clock,
  ) {
    this.contacts = new ContactLog(store);
    if (settings.hours) loadNumberZones();
  }

  /**
   * Whether work of `kind` to `to` may go out at `atMs` (default now): go, defer to the first moment both the cap and
   * the calling hours allow it (with why), or refuse when no moment ever will. `timezone` is the callee's zone when
   * the client gave one; otherwise the zones the number may be in.
   */
  check(kind: ContactKind, to: string, timezone: string | null, atMs = this.clock.now()): Verdict {
    const { hours, maxPerDay } = this.settings;
    if (this.isOwner(to)) return GO;
    const zones = hours && this.zonesFor(to, timezone);
    if (hours && !zones) {
      return {
        kind: 'refuse',
        code: 'no_time_zone',
        message: `No time zone is known for ${to}, so calling hours (${hours.text}) cannot be checked and nothing is sent to it; pass \`timezone\` (an IANA name such as Europe/Paris) with the call or message.`,
      };
    }
    const reasons: string[] = [];
    let code: DeferralCode | undefined;

    // The cap first: moving later only lets contacts age out, so the window is then looked for from there.
    const limit = maxPerDay[kind];
    let t = capFreeAt(this.contacts.nthLatest(kind, to, atMs - DAY_MS, limit), atMs);
    if (t > atMs) {
      code = 'daily_cap';
      const [one, many, done] = NOUN[kind];
      const count = this.contacts.count(kind, to, atMs - DAY_MS);
      reasons.push(`The daily cap of ${limit} ${limit === 1 ? one : many} per number is reached for ${to} (${count} ${done} in the 24 h before ${iso(atMs)}); it frees at ${iso(t)}.`);
    }

    if (hours && zones) {
      const open = nextOpening(hours, zones, t);
      if (open === null) {
        return {
          kind: 'refuse',
          code: 'calling_hours',
          message: `Calling hours ${hours.text} never hold at once in all ${zones.length} time zones ${to} may be in (${zoneList(zones)}), so nothing is sent to it; pass \`timezone\` (its IANA name) to say which one.`,
        };
      }
      if (open > t) {
        code ??= 'calling_hours';
        reasons.push(hoursReason(hours, to, zones, timezone !== null, t, open));
        t = open;
      }
    }
    return code ? { kind: 'defer', until: t, code, reason: `${reasons.join(' ')} Deferred to ${iso(t)}.` } : GO;
  }

  /**
   * `check` for a request being made now: a refusal is the client's error (nothing was created); otherwise the
   * deferral the work is stored with, or null to keep its due time.
   */
  checkRequest(kind: ContactKind, to: string, timezone: string | null, dueMs: number): Deferral | null {
    const verdict = this.check(kind, to, timezone, dueMs);
    if (verdict.kind === 'refuse') throw new UserError(`${verdict.message} ${kind === 'call' ? 'No call was placed.' : 'No message was sent.'}`, { code: 'refused' });
    return verdict.kind === 'defer' ? verdict : null;
  }

  /** The zones calling hours are checked in for `to`: the callee's given zone, else where the carrier or the number puts it. */
  zonesFor(to: string, timezone: string | null): string[] | null {
    const known = timezone ?? this.settings.zoneOf?.(to);
    return known ? [known] : zonesOfNumber(to);
  }

  /** One of the people the agent works for: exempt from calling hours and caps, never opted out automatically. */
  isOwner(number: string): boolean {
    return this.settings.owners.includes(number);
  }

  /** Counts one contact, in the transaction that dispatches it. */
  record(kind: ContactKind, to: string): void {
    this.contacts.record(kind, to, this.clock.now());
  }

  prune(): void {
    this.contacts.prune(this.clock.now());
  }
}

function hoursReason(hours: CallingHours, to: string, zones: readonly string[], given: boolean, atMs: number, openMs: number): string {
  const outside = zones.filter((z) => !inWindow(hours, localMinutes(z, atMs)));
  const now = outside.slice(0, 3).map((z) => `${localTime(z, atMs)} in ${z}`).join(', ') + (outside.length > 3 ? ` and ${outside.length - 3} more zones` : '');
  if (zones.length === 1) {
    return `At ${iso(atMs)} it is ${now} (${given ? 'the `timezone` given' : `the time zone of ${to}`}), outside calling hours ${hours.text}; the window opens there at ${localTime(zones[0]!, openMs)}.`;
  }
  return `${to} may be in ${zones.length} time zones (${zoneList(zones)}), and calling hours ${hours.text} must hold in all of them; at ${iso(atMs)} it is ${now}. The window next holds in all of them at ${iso(openMs)}.`;
}

function zoneList(zones: readonly string[]): string {
  return zones.length <= 4 ? zones.join(', ') : `${zones.slice(0, 4).join(', ')} and ${zones.length - 4} more`;
}
