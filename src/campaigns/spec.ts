import { UserError } from '../errors.js';
import { canonicalTimeZone } from '../guardrails/calling-hours.js';
import { insightFields, validateInsightSchema, type InsightSchema } from '../insights/schema.js';
import { e164Message, isE164 } from '../phone.js';
import type { Amd } from '../telephony/provider.js';
import type { RetryableEnd } from '../calls/lifecycle.js';

export const CAMPAIGN_CLASSES = ['sweep', 'screening', 'negotiation', 'multi_round', 'gather_then_act'] as const;
export type CampaignClass = (typeof CAMPAIGN_CLASSES)[number];
export const PREFERENCES = ['lower', 'higher', 'yes', 'no', 'present'] as const;
export type Preference = (typeof PREFERENCES)[number];

export const MAX_TARGETS = 1000;
const MAX_SMS = 1600;

export type TargetInput = { to: string; name?: string; timezone?: string; context?: string };
/** What every call of a campaign (or of its second round) is made of. */
export type CallTemplate = {
  mode?: 'agent' | 'notify';
  message?: string;
  instructions?: string;
  assistant_id?: string;
  insight_schema?: unknown;
  amd?: Amd;
  voicemail_message?: string;
  retry?: { max_attempts: number; interval_seconds: number; on?: RetryableEnd[] };
};
export type RubricRule = { field: string; weight: number; prefer: Preference };
export type StopWhen = { field: string; equals?: string | number | boolean; present?: boolean };
export type Rounds = { advance_top: number; round2_call?: CallTemplate };

/** The campaign part of `create_mission` (and all of `preview_mission`). */
export type CampaignInput = {
  targets: TargetInput[];
  class?: CampaignClass;
  call?: CallTemplate;
  rubric?: RubricRule[];
  stop_when?: StopWhen;
  rounds?: Rounds;
  follow_up_sms?: Record<string, string>;
};

/** What is kept of a campaign once checked: everything the engine needs to go on after a restart. */
export type CampaignSpec = {
  class: CampaignClass;
  call: CallTemplate;
  rubric: RubricRule[] | null;
  stop_when: StopWhen | null;
  rounds: { advance_top: number; round2_call: CallTemplate } | null;
  follow_up_sms: Record<string, string> | null;
};

/** One target as given, with why it cannot be called if it cannot (bad number or zone, or a repeat of an earlier one). */
export type Target = { index: number; to: string; name: string | null; timezone: string | null; context: string | null; problem: Problem | null };
export type Problem = { code: 'invalid' | 'duplicate'; reason: string };

/** Classes that call one target at a time, in order, each call made only once the one before it has ended. */
export const isSerial = (cls: CampaignClass): boolean => cls === 'negotiation';

/**
 * Checks the campaign inputs against each other and the fields its calls collect (`schemaOf` resolves a template's
 * insight schema, through its assistant or the mission's). Problems with single targets are not errors: they are
 * reported per target (see `checkTargets`).
 */
export function checkCampaign(input: CampaignInput, schemaOf: (call: CallTemplate) => InsightSchema | undefined): CampaignSpec {
  const cls = input.class ?? 'sweep';
  const call = checkTemplate(input.call ?? {}, 'call');
  const requiredFor = (field: keyof CampaignInput, classes: CampaignClass[], why: string) => {
    if (classes.includes(cls) && input[field] === undefined) throw new UserError(`class "${cls}" needs \`${field}\`: ${why}.`);
  };
  const onlyFor = (field: keyof CampaignInput, classes: CampaignClass[]) => {
    if (!classes.includes(cls) && input[field] !== undefined) {
      throw new UserError(`\`${field}\` only applies to class ${classes.map((c) => `"${c}"`).join(' or ')}; this campaign is "${cls}".`);
    }
  };
  // A rubric ranks any class's answers; screening and multi_round cannot do without one.
  requiredFor('rubric', ['screening', 'multi_round'], 'the weights that score and rank the answers, like [{"field":"price","weight":2,"prefer":"lower"}]');
  requiredFor('stop_when', ['gather_then_act'], 'the answer that ends the campaign, like {"field":"available","equals":"yes"}');
  onlyFor('stop_when', ['gather_then_act']);
  requiredFor('rounds', ['multi_round'], 'how many of the best advance after approval, like {"advance_top":3,"round2_call":{"instructions":"…"}}');
  onlyFor('rounds', ['multi_round']);

  const fields = fieldNames(schemaOf(call));
  const known = (field: string, where: string, extra: string[] = []) => {
    if (![...fields, ...extra].includes(field)) {
      throw new UserError(
        fields.length
          ? `${where} names field ${JSON.stringify(field)}, which the calls do not collect; their insight_schema has ${fields.join(', ')}.`
          : `${where} names field ${JSON.stringify(field)}, but the calls collect no fields; give the mission (or \`call\`) an insight_schema.`,
      );
    }
  };

  let rubric: RubricRule[] | null = null;
  if (input.rubric) {
    if (input.rubric.length === 0) throw new UserError('`rubric` must list at least one field to score.');
    let round2Fields: string[] = [];
    if (input.rounds?.round2_call) round2Fields = fieldNames(schemaOf(checkTemplate(input.rounds.round2_call, 'rounds.round2_call')));
    rubric = input.rubric.map((r, i) => {
      known(r.field, `rubric[${i}]`, round2Fields);
      if (!(Number.isFinite(r.weight) && r.weight > 0)) throw new UserError(`rubric[${i}].weight must be a number above 0 (got ${r.weight}).`);
      return { field: r.field, weight: r.weight, prefer: r.prefer };
    });
  }

  let stopWhen: StopWhen | null = null;
  if (input.stop_when) {
    const s = input.stop_when;
    known(s.field, '`stop_when`');
    if ((s.equals === undefined) === (s.present !== true)) throw new UserError('`stop_when` needs exactly one of `equals` (a value) or `present: true`.');
    stopWhen = s.equals !== undefined ? { field: s.field, equals: s.equals } : { field: s.field, present: true };
  }

  let rounds: CampaignSpec['rounds'] = null;
  if (input.rounds) {
    const n = input.rounds.advance_top;
    if (!Number.isInteger(n) || n < 1 || n > 100) throw new UserError(`\`rounds.advance_top\` must be a whole number from 1 to 100 (got ${n}).`);
    rounds = { advance_top: n, round2_call: checkTemplate(input.rounds.round2_call ?? call, 'rounds.round2_call') };
  }

  let followUp: Record<string, string> | null = null;
  if (input.follow_up_sms) {
    const entries = Object.entries(input.follow_up_sms);
    if (entries.length === 0) throw new UserError('`follow_up_sms` must map at least one outcome (like "completed" or "no_answer") to a message.');
    for (const [outcome, template] of entries) {
      const where = `follow_up_sms.${outcome}`;
      if (!template.trim()) throw new UserError(`\`${where}\` must not be empty.`);
      if (template.length > MAX_SMS) throw new UserError(`\`${where}\` is ${template.length} characters; carriers take at most ${MAX_SMS}.`);
      for (const [, name] of template.matchAll(/\{([^{}]+)\}/g)) {
        if (name !== 'name' && name !== 'to' && !fields.includes(name!)) {
          throw new UserError(`\`${where}\` has placeholder {${name}}; use {name}, {to}${fields.length ? ` or a field: ${fields.map((f) => `{${f}}`).join(', ')}` : ''}.`);
        }
      }
    }
    followUp = input.follow_up_sms;
  }
  return { class: cls, call, rubric, stop_when: stopWhen, rounds, follow_up_sms: followUp };
}

function checkTemplate(t: CallTemplate, where: string): CallTemplate {
  if ((t.mode as string) === 'conversation') {
    throw new UserError(`\`${where}.mode\` "conversation" needs you to speak every turn; a campaign's calls are held by the voice agent ("agent") or play a message ("notify").`);
  }
  if (t.mode === 'notify' && !t.message?.trim()) throw new UserError(`\`${where}.mode\` "notify" needs \`${where}.message\`: the text every call speaks.`);
  if (t.insight_schema !== undefined) validateInsightSchema(t.insight_schema, `${where}.insight_schema`);
  return t;
}

function fieldNames(schema: InsightSchema | undefined): string[] {
  return insightFields(schema).map((f) => f.name);
}

/** Each target with its problem, if any: a number that is not E.164, a zone that is not a zone, or a repeat (merged into the first). */
export function checkTargets(targets: readonly TargetInput[]): Target[] {
  if (targets.length === 0) throw new UserError('`targets` must list at least one number to call, like [{"to":"+15550100001","name":"Ace Roofing"}].');
  if (targets.length > MAX_TARGETS) throw new UserError(`\`targets\` has ${targets.length} entries; a campaign takes at most ${MAX_TARGETS}. Split it into several missions.`);
  const first = new Map<string, number>();
  return targets.map((t, index) => {
    const to = t.to.trim();
    const base = { index, to, name: t.name?.trim() || null, context: t.context?.trim() || null, timezone: null };
    if (!isE164(to)) return { ...base, problem: { code: 'invalid', reason: e164Message(`targets[${index}].to`, t.to) } };
    const zone = t.timezone === undefined ? null : canonicalTimeZone(t.timezone);
    if (t.timezone !== undefined && !zone) {
      return { ...base, problem: { code: 'invalid', reason: `targets[${index}].timezone ${JSON.stringify(t.timezone)} is not an IANA time zone (like America/Chicago).` } };
    }
    const earlier = first.get(to);
    if (earlier !== undefined) return { ...base, timezone: zone, problem: { code: 'duplicate', reason: `${to} is also targets[${earlier}]; it is called once.` } };
    first.set(to, index);
    return { ...base, timezone: zone, problem: null };
  });
}

/** A target's name for people: its name, else its number. */
export const label = (t: { name: string | null; to: string }): string => (t.name ? `${t.name} (${t.to})` : t.to);
