import type { Assistants } from '../assistants/assistants.js';
import type { Calls } from '../calls/calls.js';
import { LIVE_STATUSES, OPEN_SQL, WAITING_STATUSES } from '../calls/lifecycle.js';
import { UserError } from '../errors.js';
import type { DoNotContact } from '../guardrails/do-not-contact.js';
import type { OutboundGuard } from '../guardrails/outbound-guard.js';
import type { Insights } from '../insights/insights.js';
import { validateInsightSchema, type InsightSchema } from '../insights/schema.js';
import { fromJsonText } from '../json.js';
import type { Logger } from '../log.js';
import type { Messages } from '../messages/messages.js';
import { missionMachine } from '../missions/lifecycle.js';
import type { Mission, Missions, CreateMissionInput } from '../missions/missions.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Store } from '../store/store.js';
import { judge, preview, type Preview, type SkipCode } from './plan.js';
import { composeResult, ranking, answered, type RankingEntry, type TargetOutcome } from './result.js';
import { answerOf, matches } from './rubric.js';
import { checkCampaign, checkTargets, isSerial, label, type CallTemplate, type CampaignInput, type CampaignSpec, type Target } from './spec.js';

export type CreateCampaignInput = CreateMissionInput & CampaignInput;

/** Asks the client's user whether a campaign may go on to its second round (MCP elicitation), when the client can. */
export type Approver = (request: { message: string; requestedSchema: ApprovalSchema }) => Promise<{ action: 'accept' | 'decline' | 'cancel'; content?: Record<string, unknown> }>;
type ApprovalSchema = { type: 'object'; properties: Record<string, { type: 'boolean' | 'string'; title: string; description: string; default?: boolean }>; required: string[] };

type Deps = {
  missions: Missions;
  calls: Calls;
  messages: Messages;
  insights: Insights;
  assistants: Assistants;
  guard: OutboundGuard;
  doNotContact: DoNotContact;
  scheduler: Scheduler;
  log: Logger;
};

/** A campaign as it runs: its targets of the current round still to call, on a call (or waiting to retry), done or skipped. */
export type CampaignProgress = {
  class: CampaignSpec['class'];
  round: number;
  targets: number;
  waiting: number;
  on_call: number;
  done: number;
  skipped: { index: number; to: string; code: string; reason: string }[];
};

const OPEN_STATUSES: readonly string[] = [...WAITING_STATUSES, ...LIVE_STATUSES];

type CampaignRow = { mission_id: string; spec: string; round: number; winner: number | null };
type TargetRow = {
  round: number;
  idx: number;
  to: string;
  name: string | null;
  timezone: string | null;
  context: string | null;
  step_id: string | null;
  state: 'waiting' | 'called' | 'skipped';
  call_id: string | null;
};

/** Inputs that only mean something with `targets`. */
const CAMPAIGN_ONLY = ['class', 'call', 'rubric', 'stop_when', 'rounds', 'follow_up_sms'] as const;
const TARGET_COLUMNS = `round, idx, to_number AS "to", name, timezone, context, step_id, state, call_id`;
const RANK = 'rank';
const APPROVAL = 'approval';
const RESULT = 'result';
const targetStep = (round: number, index: number) => (round === 1 ? `target-${index + 1}` : `round2-target-${index + 1}`);

/**
 * Campaigns: missions with targets that Switchboard runs by itself. Every move happens in the transaction of the
 * event that caused it (a call's end starts the next call, sends the follow-up, ends the search or the round), so a
 * crash can lose none of them and double none. The class decides the order: all targets at once within the
 * scheduler's limits (sweep, screening, multi_round, gather_then_act) or one at a time (negotiation).
 */
export class Campaigns {
  private readonly approvers = new Map<string, Approver>();
  private readonly advancing = new Set<string>();
  private readonly again = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly d: Deps,
  ) {}

  /** What `create_mission` with these targets would do now; writes nothing. */
  preview(input: CreateCampaignInput): Preview {
    const spec = this.check(input);
    return preview(spec.class, checkTargets(input.targets), this.d, this.d.scheduler.now());
  }

  /**
   * Creates the mission (one step per target, plus ranking, approval and result steps where the class has them),
   * skips the targets that cannot be called (saying why), and starts calling. `approver` is the creating client's
   * way to answer an approval gate, when it has one.
   */
  create(input: CreateCampaignInput, approver?: Approver): { mission: Mission; created: boolean } {
    const spec = this.check(input);
    const targets = checkTargets(input.targets);
    if (targets.every((t) => t.problem)) {
      throw new UserError(`No target can be called: ${targets.slice(0, 5).map((t) => t.problem!.reason).join(' ')}${targets.length > 5 ? ' …' : ''}`);
    }
    const steps = targets.filter((t) => t.problem?.code !== 'duplicate').map((t) => ({ step_id: targetStep(1, t.index), description: `Call ${label(t)}` }));
    if (spec.rubric) steps.push({ step_id: RANK, description: 'Score the answers with the rubric and rank them' });
    if (spec.rounds) steps.push({ step_id: APPROVAL, description: `Approve calling the top ${spec.rounds.advance_top} again (round 2)` });
    steps.push({ step_id: RESULT, description: 'Compose the result' });

    return this.store.tx(() => {
      const { mission, created } = this.d.missions.create({ ...input, steps });
      if (!created) return { mission, created };
      const id = mission.mission_id;
      this.store.sql('INSERT INTO campaigns (mission_id, class, spec) VALUES (?, ?, ?)').run(id, spec.class, JSON.stringify(spec));
      const insert = this.store.sql(
        `INSERT INTO campaign_targets (mission_id, round, idx, to_number, name, timezone, context, step_id, state) VALUES (?, 1, ?, ?, ?, ?, ?, ?, 'waiting')`,
      );
      for (const t of targets) insert.run(id, t.index, t.to, t.name, t.timezone, t.context, t.problem?.code === 'duplicate' ? null : targetStep(1, t.index));
      const c = this.campaign(id)!;
      for (const t of targets) {
        const row = this.target(id, 1, t.index);
        if (!isSerial(spec.class)) this.launch(c, spec, row, t);
        else {
          // Called one by one later; what cannot be called at all is skipped now, as the preview says.
          const v = judge(t, this.d, this.d.scheduler.now());
          if (v.action === 'skip') this.skip(id, row, v.code, v.reason);
        }
      }
      const { skipped } = this.store.sql(`SELECT count(*) AS skipped FROM campaign_targets WHERE mission_id = ? AND state = 'skipped'`).get(id) as { skipped: number };
      this.d.missions.note(id, {
        type: 'campaign_started',
        summary: `Campaign (${spec.class}) started with ${targets.length} target(s): ${targets.length - skipped} to call${isSerial(spec.class) ? ', one at a time' : ''}, ${skipped} skipped.`,
        payload: { class: spec.class, targets: targets.length, skipped },
      });
      if (approver && spec.rounds) this.approvers.set(id, approver);
      this.advance(id);
      return { mission: this.d.missions.get(id), created: true };
    });
  }

  /**
   * `create_mission`: a campaign when there are targets, else a plain mission (whose steps the client runs). The
   * campaign's own inputs without targets, or targets beside steps, are refused.
   */
  createMission(input: CreateMissionInput & Partial<CampaignInput>, approver?: Approver): { mission: Mission; created: boolean } {
    const { targets, ...rest } = input;
    if (targets !== undefined) {
      if (rest.steps !== undefined) throw new UserError('Give either `targets` (a campaign makes its own steps) or `steps`, not both.');
      return this.create({ ...rest, targets }, approver);
    }
    const campaignOnly = CAMPAIGN_ONLY.find((k) => rest[k] !== undefined);
    if (campaignOnly) throw new UserError(`\`${campaignOnly}\` belongs to a campaign: give \`targets\` too (the numbers to call).`);
    return this.d.missions.create(rest);
  }

  /** A paused campaign (any mission) dials and sends nothing new; its live calls finish. */
  pause(ref: string): Mission {
    return this.store.tx(() => {
      const id = this.d.missions.resolveId(ref);
      this.requireStatus(id, 'active', 'pause_mission pauses an active mission');
      this.d.missions.setStatus(id, 'paused', 'Paused: nothing new is dialed or sent; live calls finish.', 'client');
      this.d.calls.holdForMission(id);
      this.d.messages.holdForMission(id);
      return this.d.missions.get(id);
    });
  }

  /** Goes on where it was: held work is queued again (the guardrails judge it anew) and a campaign takes its next step. */
  resume(ref: string): Mission {
    return this.store.tx(() => {
      const id = this.d.missions.resolveId(ref);
      this.requireStatus(id, 'paused', 'resume_mission resumes a paused mission');
      this.d.missions.setStatus(id, 'active', 'Resumed.', 'client');
      this.d.calls.releaseForMission(id);
      this.d.messages.releaseForMission(id);
      this.advance(id);
      return this.d.missions.get(id);
    });
  }

  /**
   * Opens a multi_round campaign's approval gate: round 2 calls `targets` (numbers from round 1), or the top
   * `rounds.advance_top` of the ranking.
   */
  approve(ref: string, targets: string[] | undefined, by: 'client' | 'elicitation' = 'client'): Mission {
    return this.store.tx(() => {
      const id = this.d.missions.resolveId(ref);
      const c = this.requireCampaign(id);
      this.requireStatus(id, 'awaiting_approval', 'approve_round lets a multi_round campaign go on from its approval gate');
      const spec = parseSpec(c);
      const round1 = this.outcomes(id, 1);
      const ranked = ranking(round1, spec.rubric);
      let chosen: TargetOutcome[];
      if (targets?.length) {
        chosen = [...new Set(targets.map((to) => to.trim()))].map((to) => {
          const hit = round1.find((t) => t.to === to);
          if (!hit || !answered(hit)) {
            const options = ranked.map((r) => r.to).join(', ');
            throw new UserError(`${JSON.stringify(to)} is not a round-1 target that answered; choose among ${options || 'none'}.`);
          }
          return hit;
        });
      } else chosen = ranked.slice(0, spec.rounds!.advance_top).map((r) => round1.find((t) => t.index === r.index)!);

      this.d.missions.addSteps(id, chosen.map((t) => ({ step_id: targetStep(2, t.index), description: `Round 2: call ${label(t)}` })));
      const insert = this.store.sql(
        `INSERT INTO campaign_targets (mission_id, round, idx, to_number, name, timezone, context, step_id, state)
         SELECT mission_id, 2, idx, to_number, name, timezone, context, ?, 'waiting' FROM campaign_targets WHERE mission_id = ? AND round = 1 AND idx = ?`,
      );
      for (const t of chosen) insert.run(targetStep(2, t.index), id, t.index);
      this.store.sql('UPDATE campaigns SET round = 2 WHERE mission_id = ?').run(id);
      const who = chosen.map(label).join(', ');
      this.d.missions.moveStepQuietly(id, APPROVAL, 'completed', `approved by ${by === 'client' ? 'approve_round' : 'the user (elicitation)'}: ${who}`);
      this.d.missions.setStatus(id, 'active', `Round 2 approved: calling ${who}.`, by === 'client' ? 'client' : 'switchboard');
      const next = this.campaign(id)!;
      for (const t of chosen) this.launch(next, spec, this.target(id, 2, t.index));
      this.approvers.delete(id);
      this.advance(id);
      return this.d.missions.get(id);
    });
  }

  /** Where a campaign stands, for get_mission and create_mission's answer; null for a mission without targets. */
  progress(missionId: string): CampaignProgress | null {
    const c = this.campaign(missionId);
    if (!c) return null;
    const spec = parseSpec(c);
    const rows = this.outcomes(missionId, c.round);
    const count = (test: (t: TargetOutcome) => boolean) => rows.filter(test).length;
    const ended = (t: TargetOutcome) => t.call_status !== null && !OPEN_STATUSES.includes(t.call_status);
    return {
      class: spec.class,
      round: c.round,
      targets: rows.length,
      waiting: count((t) => t.call_id === null && t.skip_code === null),
      on_call: count((t) => t.call_id !== null && !ended(t)),
      done: count(ended),
      skipped: rows.filter((t) => t.skip_code !== null).map((t) => ({ index: t.index, to: t.to, code: t.skip_code!, reason: t.skip_reason ?? '' })),
    };
  }

  /** The ranking of the campaign's answers as they stand (the latest round), when it has a rubric. */
  rankingOf(missionId: string): RankingEntry[] | undefined {
    const c = this.campaign(missionId);
    if (!c) return undefined;
    const spec = parseSpec(c);
    return spec.rubric ? ranking(this.roundOutcomes(missionId, c.round), spec.rubric) : undefined;
  }

  /**
   * A call or SMS of a mission settled (or went to the carrier): if the mission is a campaign, it takes its next
   * steps. Runs inside that transaction. A move that settles more work (a cancelled call) comes back here; it is
   * taken after the current pass, not inside it.
   */
  advance(missionId: string, stepId?: string): void {
    if (this.advancing.has(missionId)) {
      this.again.add(missionId);
      return;
    }
    this.advancing.add(missionId);
    try {
      this.step(missionId, stepId);
      // Moves made meanwhile by the moves of this pass (cancelled calls) are looked at afresh, all of them.
      while (this.again.has(missionId)) {
        this.again.delete(missionId);
        this.step(missionId);
      }
    } finally {
      this.advancing.delete(missionId);
      this.again.delete(missionId);
    }
  }

  /** One pass: take in the calls that ended (only `stepId`'s when given), start what is next, end the round when all is done. */
  private step(missionId: string, stepId?: string): void {
    const c = this.campaign(missionId);
    if (!c) return;
    const status = this.d.missions.status(missionId);
    if (missionMachine.isTerminal(status)) return;
    const spec = parseSpec(c);
    const ended = this.store
      .sql(
        `SELECT t.round, t.idx FROM campaign_targets t JOIN calls c ON c.id = t.call_id
         WHERE t.mission_id = ? AND (? IS NULL OR t.step_id = ?) AND t.state = 'called' AND t.settled = 0 AND c.status NOT IN (${OPEN_SQL})
         ORDER BY t.round, t.idx`,
      )
      .all(missionId, stepId ?? null, stepId ?? null) as { round: number; idx: number }[];
    for (const e of ended) this.afterCall(missionId, spec, e.round, e.idx);
    if (this.d.missions.status(missionId) !== 'active') return;
    if (isSerial(spec.class)) this.launchNext(missionId, spec);
    if (this.roundOpen(missionId, c.round)) return;
    this.roundEnded(missionId, spec, c.round);
  }

  /** A target's call ended: its follow-up SMS goes out, and in gather_then_act a match ends the search. */
  private afterCall(missionId: string, spec: CampaignSpec, round: number, idx: number): void {
    this.store.sql('UPDATE campaign_targets SET settled = 1 WHERE mission_id = ? AND round = ? AND idx = ?').run(missionId, round, idx);
    const t = this.target(missionId, round, idx);
    const status = this.d.calls.statusOf(t.call_id!).status;
    const insight = this.d.insights.forCall(t.call_id!);
    // Outcomes come from the agent (a model, on live calls): only the client's own keys count, never inherited ones.
    const templates = spec.follow_up_sms;
    const key = [insight.outcome, status].find((k) => k && templates && Object.hasOwn(templates, k));
    const template = key ? templates![key] : undefined;
    if (template) this.followUp(missionId, t, template, insight.fields);

    const c = this.campaign(missionId)!;
    if (spec.class !== 'gather_then_act' || c.winner !== null || status !== 'completed' || !matches(spec.stop_when!, insight.fields)) return;
    this.store.sql('UPDATE campaigns SET winner = ? WHERE mission_id = ?').run(idx, missionId);
    const f = spec.stop_when!.field;
    this.d.missions.note(missionId, {
      type: 'stop_when_met',
      step_id: t.step_id ?? undefined,
      summary: `${label(t)} answered ${f} = ${JSON.stringify(insight.fields[f])}; calls not yet dialed are canceled, live ones finish.`,
      payload: { index: idx, field: f, value: insight.fields[f] },
    });
    const rest = this.store
      .sql(`SELECT ${TARGET_COLUMNS} FROM campaign_targets WHERE mission_id = ? AND round = ? AND idx != ? AND state != 'skipped'`)
      .all(missionId, round, idx) as TargetRow[];
    for (const other of rest) {
      if (other.state === 'waiting') this.skip(missionId, other, 'stopped', `Not called: ${label(t)} already met stop_when.`);
      else if (other.call_id && ['scheduled', 'queued'].includes(this.d.calls.statusOf(other.call_id).status)) {
        if (other.step_id) this.d.missions.moveStepQuietly(missionId, other.step_id, 'skipped', `not dialed: ${label(t)} already met stop_when`);
        this.d.calls.cancelIfWaiting(other.call_id);
      }
    }
  }

  private followUp(missionId: string, t: TargetRow, template: string, fields: Record<string, unknown>): void {
    const body = template.replace(/\{([^{}]+)\}/g, (_, key: string) => {
      const value = key === 'name' ? t.name : key === 'to' ? t.to : answerOf(fields, key);
      return value === null || value === undefined ? '' : String(value);
    });
    try {
      const { message } = this.store.savepoint(() =>
        this.d.messages.schedule({ to: t.to, body, timezone: t.timezone ?? undefined, mission_id: missionId, step_id: t.step_id ?? undefined, idempotency_key: `${missionId}/follow-up/${t.round}/${t.idx}` }),
      );
      this.d.missions.note(missionId, { type: 'follow_up_sms', step_id: t.step_id ?? undefined, summary: `Follow-up SMS to ${label(t)} ${message.deferred ? `deferred to ${message.deferred.until}` : 'queued'}.`, payload: { message_id: message.message_id } });
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      this.d.missions.note(missionId, { type: 'follow_up_sms_skipped', step_id: t.step_id ?? undefined, summary: `No follow-up SMS to ${label(t)}: ${err.message}` });
    }
  }

  /** negotiation: the next target is called once no call of the campaign is open (so never two at once). */
  private launchNext(missionId: string, spec: CampaignSpec): void {
    const c = this.campaign(missionId)!;
    const open = this.store
      .sql(`SELECT 1 FROM campaign_targets t JOIN calls c ON c.id = t.call_id WHERE t.mission_id = ? AND t.state = 'called' AND c.status IN (${OPEN_SQL}) LIMIT 1`)
      .get(missionId);
    if (open) return;
    for (;;) {
      const next = this.store
        .sql(`SELECT ${TARGET_COLUMNS} FROM campaign_targets WHERE mission_id = ? AND round = ? AND state = 'waiting' ORDER BY idx LIMIT 1`)
        .get(missionId, c.round) as TargetRow | undefined;
      if (!next || this.launch(c, spec, next)) return;
    }
  }

  /**
   * Calls one target, or skips it saying why (a problem found when it was given, or the guardrails saying no now);
   * true when a call was made.
   */
  private launch(c: CampaignRow, spec: CampaignSpec, t: TargetRow, given?: Target): boolean {
    const target: Target = given ?? { index: t.idx, to: t.to, name: t.name, timezone: t.timezone, context: t.context, problem: null };
    const v = judge(target, this.d, this.d.scheduler.now());
    if (v.action === 'skip') {
      this.skip(c.mission_id, t, v.code, v.reason);
      return false;
    }
    const template = t.round === 2 ? spec.rounds!.round2_call : spec.call;
    try {
      const { call } = this.store.savepoint(() =>
        this.d.calls.initiate({
          to: t.to,
          mode: template.mode,
          message: template.message,
          instructions: this.instructionsFor(c, spec, template, t),
          assistant_id: template.assistant_id,
          insight_schema: template.insight_schema,
          amd: template.amd,
          voicemail_message: template.voicemail_message,
          retry: template.retry,
          timezone: t.timezone ?? undefined,
          mission_id: c.mission_id,
          step_id: t.step_id ?? undefined,
          idempotency_key: `${c.mission_id}/call/${t.round}/${t.idx}`,
          metadata: { campaign: { round: t.round, index: t.idx } },
        }),
      );
      this.store.sql(`UPDATE campaign_targets SET state = 'called', call_id = ? WHERE mission_id = ? AND round = ? AND idx = ?`).run(call.call_id, c.mission_id, t.round, t.idx);
      return true;
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      this.skip(c.mission_id, t, 'refused', err.message);
      return false;
    }
  }

  /**
   * What the voice agent is told for one target: the campaign's instructions, what the client said about the
   * target, and (negotiation, round 2) what earlier calls learned, with the best offer so far by the rubric.
   */
  private instructionsFor(c: CampaignRow, spec: CampaignSpec, template: CallTemplate, t: TargetRow): string {
    const { instructions } = this.store.sql('SELECT instructions FROM missions WHERE id = ?').get(c.mission_id) as { instructions: string };
    const parts = [template.instructions?.trim() || instructions];
    if (t.context) parts.push(`About ${label(t)}: ${t.context}`);
    const fieldsText = (fields: Record<string, unknown>) =>
      Object.entries(fields)
        .filter(([, v]) => v !== null && v !== undefined && v !== '')
        .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join('; ') || 'nothing useful';
    if (spec.class === 'negotiation') {
      const earlier = this.outcomes(c.mission_id, t.round).filter((o) => o.index !== t.idx && answered(o));
      if (earlier.length) {
        const lines = earlier.map((o) => `- ${label(o)}: ${fieldsText(o.fields)}`);
        const best = spec.rubric ? ranking(earlier, spec.rubric)[0] : undefined;
        parts.push(
          `Earlier calls in this campaign learned (you may use this to get a better offer; never invent or exaggerate an offer):\n${lines.join('\n')}` +
            (best ? `\nBest offer so far: ${label(best)}: ${fieldsText(best.fields)}.` : ''),
        );
      }
    }
    if (t.round === 2) {
      const first = this.outcomes(c.mission_id, 1).find((o) => o.index === t.idx);
      if (first) parts.push(`In round 1 they said: ${fieldsText(first.fields)}.`);
    }
    return parts.join('\n\n');
  }

  private skip(missionId: string, t: TargetRow, code: SkipCode | 'refused' | 'stopped', reason: string): void {
    this.store
      .sql(`UPDATE campaign_targets SET state = 'skipped', skip_code = ?, skip_reason = ? WHERE mission_id = ? AND round = ? AND idx = ?`)
      .run(code, reason, missionId, t.round, t.idx);
    if (t.step_id) this.d.missions.moveStepQuietly(missionId, t.step_id, 'skipped', `${code}: ${reason}`);
  }

  /**
   * Some target of the round is still to be called or on a call (a call's end is taken in, `settled`, in the
   * transaction of that end); or an SMS of the mission is still to go out.
   */
  private roundOpen(missionId: string, round: number): boolean {
    const target = this.store.sql(`SELECT 1 FROM campaign_targets WHERE mission_id = ? AND round = ? AND settled = 0 AND state != 'skipped' LIMIT 1`).get(missionId, round);
    if (target) return true;
    return this.store.sql(`SELECT 1 FROM messages WHERE mission_id = ? AND direction = 'outbound' AND status IN ('scheduled', 'queued') LIMIT 1`).get(missionId) !== undefined;
  }

  /** Every target of the round is done: a first round of multi_round stops at the approval gate; otherwise the result. */
  private roundEnded(missionId: string, spec: CampaignSpec, round: number): void {
    if (spec.rubric && round === 1) this.completeStep(missionId, RANK, 'ranked by the rubric');
    if (spec.class === 'multi_round' && round === 1) {
      const ranked = ranking(this.outcomes(missionId, 1), spec.rubric);
      if (ranked.length > 0) {
        this.d.missions.moveStepQuietly(missionId, APPROVAL, 'in_progress', 'waiting for approve_round (or the user, by elicitation)');
        const top = ranked.slice(0, spec.rounds!.advance_top);
        this.d.missions.setStatus(
          missionId,
          'awaiting_approval',
          `Round 1 is ranked; round 2 would call ${top.map(label).join(', ')}. Waiting for approval (approve_round).`,
          'switchboard',
        );
        this.store.afterCommit(() => this.askApproval(missionId, top));
        return;
      }
    }
    const round1 = round === 2 ? this.outcomes(missionId, 1) : undefined;
    const { status, summary, result } = composeResult(spec, this.roundOutcomes(missionId, round), { round1, matched: this.campaign(missionId)!.winner });
    this.d.missions.conclude(missionId, status, summary, result, [RANK, RESULT]);
    this.approvers.delete(missionId);
  }

  private completeStep(missionId: string, stepId: string, note: string): void {
    const step = this.d.missions.steps(missionId).find((s) => s.step_id === stepId);
    if (!step || step.status === 'completed') return;
    if (step.status === 'pending') this.d.missions.moveStepQuietly(missionId, stepId, 'in_progress', note);
    this.d.missions.moveStepQuietly(missionId, stepId, 'completed', note);
  }

  /** The approval gate by MCP elicitation, when the creating client offered it: accept goes on, decline ends with round 1. */
  private askApproval(missionId: string, top: RankingEntry[]): void {
    const approver = this.approvers.get(missionId);
    if (!approver) return;
    const lines = top.map((r) => `${r.rank}. ${label(r)}: score ${r.score} of ${r.max_score}`).join('\n');
    approver({
      message: `Round 1 is done. Call these ${top.length} again for round 2?\n${lines}`,
      requestedSchema: {
        type: 'object',
        properties: {
          approve: { type: 'boolean', title: 'Call round 2', description: 'Yes to call them again; no to end with the round-1 ranking.', default: true },
          targets: { type: 'string', title: 'Other numbers', description: 'Optional: round-1 numbers to call instead, comma-separated (E.164).' },
        },
        required: ['approve'],
      },
    }).then(
      (answer) => {
        const approved = answer.action === 'accept' && answer.content?.approve !== false;
        if (approved) {
          const raw = typeof answer.content?.targets === 'string' ? answer.content.targets : '';
          const numbers = raw.split(/[\s,;]+/).filter(Boolean);
          this.approve(missionId, numbers.length ? numbers : undefined, 'elicitation');
        } else if (answer.action !== 'cancel') this.decline(missionId);
      },
    ).catch((err: unknown) => this.d.log.info({ missionId, err: (err as Error).message }, 'approval by elicitation not given; the campaign waits for approve_round'));
  }

  /** The user said no to round 2: the campaign ends with round 1's ranking. */
  private decline(missionId: string): void {
    this.store.tx(() => {
      if (this.d.missions.status(missionId) !== 'awaiting_approval') return;
      const spec = parseSpec(this.campaign(missionId)!);
      this.d.missions.moveStepQuietly(missionId, APPROVAL, 'skipped', 'round 2 declined by the user (elicitation)');
      const { status, summary, result } = composeResult(spec, this.outcomes(missionId, 1), { roundTwoDeclined: true });
      this.d.missions.conclude(missionId, status, summary, result, [RANK, RESULT]);
      this.approvers.delete(missionId);
    });
  }

  private check(input: CreateCampaignInput): CampaignSpec {
    const missionSchema = input.insight_schema === undefined ? undefined : validateInsightSchema(input.insight_schema);
    return checkCampaign(input, (call): InsightSchema | undefined => {
      if (call.insight_schema !== undefined) return call.insight_schema as InsightSchema;
      const assistant = call.assistant_id === undefined ? undefined : this.d.assistants.get(call.assistant_id);
      return assistant?.insight_schema ?? missionSchema;
    });
  }

  private campaign(missionId: string): CampaignRow | undefined {
    return this.store.sql('SELECT mission_id, spec, round, winner FROM campaigns WHERE mission_id = ?').get(missionId) as CampaignRow | undefined;
  }

  private requireCampaign(missionId: string): CampaignRow {
    const c = this.campaign(missionId);
    if (!c) throw new UserError('this mission has no targets, so it has no rounds to approve; approve_round is for multi_round campaigns.');
    return c;
  }

  private requireStatus(missionId: string, want: 'active' | 'paused' | 'awaiting_approval', what: string): void {
    const status = this.d.missions.status(missionId);
    if (status !== want) throw new UserError(`${what}; this one is ${status}.`, { code: 'conflict' });
  }

  private target(missionId: string, round: number, idx: number): TargetRow {
    return this.store
      .sql(`SELECT ${TARGET_COLUMNS} FROM campaign_targets WHERE mission_id = ? AND round = ? AND idx = ?`)
      .get(missionId, round, idx) as TargetRow;
  }

  /** Each target of a round with its call's status and what the call found out. */
  private outcomes(missionId: string, round: number): TargetOutcome[] {
    const rows = this.store
      .sql(
        `SELECT t.idx AS "index", t.round, t.to_number AS "to", t.name, t.call_id, c.status AS call_status, i.outcome, i.summary, i.fields, t.skip_code, t.skip_reason
         FROM campaign_targets t LEFT JOIN calls c ON c.id = t.call_id LEFT JOIN insights i ON i.call_id = t.call_id
         WHERE t.mission_id = ? AND t.round = ? ORDER BY t.idx`,
      )
      .all(missionId, round) as (Omit<TargetOutcome, 'fields'> & { fields: string | null })[];
    return rows.map((r) => ({ ...r, fields: fromJsonText<Record<string, unknown>>(r.fields) ?? {} }));
  }

  /** A round's outcomes; in round 2 each target's fields from round 1 fill what round 2 did not ask or hear. */
  private roundOutcomes(missionId: string, round: number): TargetOutcome[] {
    const rows = this.outcomes(missionId, round);
    if (round === 1) return rows;
    const first = new Map(this.outcomes(missionId, 1).map((o) => [o.index, o.fields]));
    return rows.map((r) => ({ ...r, fields: { ...first.get(r.index), ...Object.fromEntries(Object.entries(r.fields).filter(([, v]) => v !== null && v !== undefined)) } }));
  }
}

function parseSpec(c: CampaignRow): CampaignSpec {
  return JSON.parse(c.spec) as CampaignSpec;
}
