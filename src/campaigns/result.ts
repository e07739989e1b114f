import type { MissionEnd } from '../missions/lifecycle.js';
import { rank, type Ranked } from './rubric.js';
import { label, type CampaignSpec } from './spec.js';

/** One target of one round as it stands: its call and what the call found out, or why it was skipped. */
export type TargetOutcome = {
  index: number;
  round: number;
  to: string;
  name: string | null;
  call_id: string | null;
  /** The call's status; null for a target never called. */
  call_status: string | null;
  outcome: string | null;
  summary: string | null;
  fields: Record<string, unknown>;
  skip_code: string | null;
  skip_reason: string | null;
};

export type RankingEntry = { rank: number; index: number; to: string; name: string | null; call_id: string | null; score: number; max_score: number; reasons: string[]; fields: Record<string, unknown> };
export type CampaignResult = {
  class: CampaignSpec['class'];
  counts: Record<string, number>;
  table: { index: number; to: string; name: string | null; status: string; outcome: string | null; fields: Record<string, unknown>; call_id: string | null; rank?: number; score?: number }[];
  ranking?: RankingEntry[];
  round1?: CampaignResult['table'];
  winner: { index: number; to: string; name: string | null; call_id: string | null; score?: number; why: string } | null;
  skipped: { index: number; to: string; code: string; reason: string }[];
};

/** Calls that reached someone and ended normally: the ones a rubric scores. */
export const answered = (t: TargetOutcome): boolean => t.call_status === 'completed';

/** The rubric's ranking of the answered targets, best first. */
export function ranking(rows: readonly TargetOutcome[], rubric: CampaignSpec['rubric']): RankingEntry[] {
  if (!rubric) return [];
  return rank(rows.filter(answered), rubric).map(rankingEntry);
}

function rankingEntry(r: Ranked<TargetOutcome>): RankingEntry {
  const t = r.row;
  return { rank: r.rank, index: t.index, to: t.to, name: t.name, call_id: t.call_id, score: r.score, max_score: r.max_score, reasons: r.reasons, fields: t.fields };
}

/**
 * The campaign's answer, composed when its last call has ended: the table (ranked where there is a rubric), the
 * winner where the class has one, counts by outcome, who was skipped and why; and how the mission ends.
 * `rows` are the last round's targets; `round1` the first round's when there were two; `matched` the target whose
 * call met `stop_when`.
 */
export function composeResult(
  spec: CampaignSpec,
  rows: readonly TargetOutcome[],
  opts: { round1?: readonly TargetOutcome[]; matched?: number | null; roundTwoDeclined?: boolean } = {},
): { status: MissionEnd; summary: string; result: CampaignResult } {
  const all = [...(opts.round1 ?? []), ...rows];
  const ranked = ranking(rows, spec.rubric);
  const byIndex = new Map(ranked.map((r) => [r.index, r]));
  const table = (list: readonly TargetOutcome[], withRank: boolean) =>
    list
      .filter((t) => t.call_id !== null)
      .map((t) => {
        const r = withRank ? byIndex.get(t.index) : undefined;
        return { index: t.index, to: t.to, name: t.name, status: t.call_status!, outcome: t.outcome, fields: t.fields, call_id: t.call_id, ...(r && { rank: r.rank, score: r.score }) };
      })
      .sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity) || a.index - b.index);

  const counts: Record<string, number> = { targets: (opts.round1 ?? rows).length, called: 0, skipped: 0 };
  for (const t of all) {
    if (t.call_status === null) counts.skipped! += 1;
    else {
      counts.called! += 1;
      counts[t.call_status] = (counts[t.call_status] ?? 0) + 1;
    }
  }
  const skipped = all.filter((t) => t.call_status === null).map((t) => ({ index: t.index, to: t.to, code: t.skip_code ?? 'skipped', reason: t.skip_reason ?? '' }));

  let winner: CampaignResult['winner'] = null;
  if (spec.class === 'gather_then_act') {
    const hit = opts.matched === null || opts.matched === undefined ? undefined : rows.find((t) => t.index === opts.matched);
    if (hit) {
      const f = spec.stop_when!.field;
      winner = { index: hit.index, to: hit.to, name: hit.name, call_id: hit.call_id, why: `${f} was ${JSON.stringify(hit.fields[f])}, which meets stop_when.` };
    }
  } else if (ranked[0]) {
    const best = ranked[0];
    winner = { index: best.index, to: best.to, name: best.name, call_id: best.call_id, score: best.score, why: `Scored ${best.score} of ${best.max_score}: ${best.reasons.join('; ')}.` };
  }

  const reached = rows.filter(answered).length;
  const status: MissionEnd = spec.class === 'gather_then_act' || spec.rubric ? (winner ? 'succeeded' : 'failed') : reached > 0 ? 'succeeded' : 'failed';
  const tally = Object.entries(counts)
    .filter(([k, n]) => k !== 'targets' && k !== 'called' && n > 0)
    .map(([k, n]) => `${n} ${k.replace('_', ' ')}`)
    .join(', ');
  const head = `${counts.targets} target(s)${opts.round1 ? `, ${rows.length} in round 2` : ''}: ${tally || 'none called'}.`;
  const tail = winner
    ? ` Winner: ${label(winner)}. ${winner.why}`
    : spec.class === 'gather_then_act'
      ? ` No call met stop_when (${spec.stop_when!.field}).`
      : spec.rubric
        ? ' No answered call to rank.'
        : '';
  const declined = opts.roundTwoDeclined ? ' Round 2 was declined at the approval gate.' : '';
  const result: CampaignResult = {
    class: spec.class,
    counts,
    table: table(rows, true),
    ...(spec.rubric && { ranking: ranked }),
    ...(opts.round1 && { round1: table(opts.round1, false) }),
    winner,
    skipped,
  };
  return { status, summary: `${head}${tail}${declined}`, result };
}
