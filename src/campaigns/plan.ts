import type { DoNotContact } from '../guardrails/do-not-contact.js';
import type { OutboundGuard } from '../guardrails/outbound-guard.js';
import { localTime } from '../guardrails/calling-hours.js';
import { iso } from '../time.js';
import { isSerial, type CampaignClass, type Target } from './spec.js';

export type SkipCode = 'invalid' | 'duplicate' | 'do_not_contact' | 'daily_cap' | 'no_time_zone' | 'calling_hours';

/** What happens to one target when it comes up: called now, deferred to the window's next opening, or skipped (why). */
export type Verdict =
  | { action: 'call'; at: number }
  | { action: 'defer'; at: number; reason: string }
  | { action: 'skip'; code: SkipCode; reason: string };

export type PlanDeps = { guard: OutboundGuard; doNotContact: DoNotContact };

/**
 * The one judgement of a target, used by `preview_mission` and by the campaign when it calls the target, so the
 * preview says what then happens. Over its daily cap a target is skipped (a campaign does not wait a day for one
 * number); outside calling hours it is deferred; a number no hour suits, or without a known zone, is skipped.
 */
export function judge(t: Target, deps: PlanDeps, atMs: number): Verdict {
  if (t.problem) return { action: 'skip', code: t.problem.code, reason: t.problem.reason };
  if (deps.doNotContact.has(t.to)) return { action: 'skip', code: 'do_not_contact', reason: `${t.to} is on the do-not-contact list.` };
  const v = deps.guard.check('call', t.to, t.timezone, atMs);
  if (v.kind === 'refuse') return { action: 'skip', code: v.code, reason: v.message };
  if (v.kind === 'defer') return v.code === 'daily_cap' ? { action: 'skip', code: 'daily_cap', reason: v.reason } : { action: 'defer', at: v.until, reason: v.reason };
  return { action: 'call', at: atMs };
}

export type PreviewEntry = {
  index: number;
  to: string;
  name: string | null;
  action: 'call' | 'deferred' | 'skipped';
  /** When it would be dialed at the earliest (UTC), and the callee's wall clock then. */
  at: string | null;
  local_time: string | null;
  timezone: string | null;
  code: string | null;
  reason: string | null;
};

export type Preview = {
  class: CampaignClass;
  order: 'parallel' | 'serial';
  counts: { targets: number; call: number; deferred: number; skipped: number };
  targets: PreviewEntry[];
  note: string;
};

/** What a campaign would do with each target if it started now; reads, never writes. */
export function preview(cls: CampaignClass, targets: readonly Target[], deps: PlanDeps, nowMs: number): Preview {
  const entries = targets.map((t): PreviewEntry => {
    const v = judge(t, deps, nowMs);
    const base = { index: t.index, to: t.to, name: t.name, timezone: null, local_time: null, at: null, code: null, reason: null };
    if (v.action === 'skip') return { ...base, action: 'skipped', code: v.code, reason: v.reason };
    const zones = deps.guard.zonesFor(t.to, t.timezone);
    const zone = zones?.[0] ?? null;
    return {
      ...base,
      action: v.action === 'call' ? 'call' : 'deferred',
      at: iso(v.at),
      timezone: zones && zones.length > 1 ? `${zone} (+${zones.length - 1} more zones)` : zone,
      local_time: zone && localTime(zone, v.at),
      ...(v.action === 'defer' && { code: 'calling_hours', reason: v.reason }),
    };
  });
  const count = (a: PreviewEntry['action']) => entries.filter((e) => e.action === a).length;
  const serial = isSerial(cls);
  return {
    class: cls,
    order: serial ? 'serial' : 'parallel',
    counts: { targets: entries.length, call: count('call'), deferred: count('deferred'), skipped: count('skipped') },
    targets: entries,
    note: serial
      ? 'Calls go one at a time in this order, each after the one before it has ended; times are the earliest each could start.'
      : 'Calls start in this order as lines free up (SWITCHBOARD_MAX_CONCURRENT_CALLS, SWITCHBOARD_MIN_CALL_SPACING_MS); times are the earliest each may start.',
  };
}
