import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, tempDir, until, type Harness } from './helpers.js';

/**
 * Campaigns through a real MCP client on the simulated carrier, with a directory of our own: every class end to end,
 * follow-up SMS, the approval gate with and without elicitation, pause and resume, and what bad targets do.
 */
let h: Harness;
afterEach(() => h?.close());

const ACE = '+15550300001';
const BOB = '+15550300002';
const CAT = '+15550300003';
const DAN = '+15550300004';
const BUSY = '+15550300005';
const SLOW = '+15550300006';

const PEOPLE = {
  [ACE]: { name: 'Ace Roofing', behavior: 'answer', facts: { price_per_square: '$450', available: 'yes' }, timezone: 'America/New_York' },
  [BOB]: { name: 'Bob Roofs', behavior: 'answer', facts: { price_per_square: '$390', available: 'no' }, timezone: 'America/New_York' },
  [CAT]: { name: 'Cat Contractors', behavior: 'answer', facts: { price_per_square: '$520', available: 'yes' }, timezone: 'America/New_York' },
  [DAN]: { name: 'Dan', behavior: 'answer', facts: { available: 'yes' }, timezone: 'America/New_York' },
  [BUSY]: { name: 'Always Busy', behavior: 'busy', timezone: 'America/New_York' },
  [SLOW]: { name: 'Slow Sam', behavior: 'answer', ring_seconds: 3, facts: { price_per_square: '$400', available: 'yes' }, timezone: 'America/New_York' },
};

const QUOTE = {
  type: 'object',
  properties: { price_per_square: { type: 'string', description: 'price per roofing square' }, available: { type: 'string', description: 'can start next week, yes or no' } },
};
const RUBRIC = [
  { field: 'price_per_square', weight: 2, prefer: 'lower' },
  { field: 'available', weight: 1, prefer: 'yes' },
];

function directory(): string {
  const path = join(tempDir(), 'people.json');
  writeFileSync(path, JSON.stringify(PEOPLE));
  return path;
}

async function start(env: Record<string, string> = {}, client?: Client): Promise<void> {
  h = await startHarness({ SWITCHBOARD_SIM_DIRECTORY: directory(), ...env }, { client });
}

const campaign = (extra: Record<string, unknown>) => ({ name: 'Roofers', instructions: 'Ask for a quote for a 20-square roof.', insight_schema: QUOTE, ...extra });
const targets = (...numbers: string[]) => numbers.map((to) => ({ to, name: PEOPLE[to as keyof typeof PEOPLE]?.name }));

async function ended(missionId: string, timeoutMs = 10_000) {
  return until(
    async () => {
      const m = await h.call('get_mission', { mission_id: missionId });
      return ['succeeded', 'failed', 'cancelled'].includes(m.status) && m;
    },
    `mission ${missionId} to end`,
    timeoutMs,
  );
}

async function statusIs(missionId: string, status: string) {
  return until(async () => {
    const m = await h.call('get_mission', { mission_id: missionId });
    return m.status === status && m;
  }, `mission ${missionId} to be ${status}`);
}

describe('sweep', () => {
  it('calls every target once, skips bad ones by index with the reason, sends follow-ups by outcome and composes the table', async () => {
    await start();
    await h.call('add_do_not_contact', { number: DAN, reason: 'asked us not to call' });
    const m = await h.call(
      'create_mission',
      campaign({
        targets: [...targets(ACE, BUSY), { to: '555-0100' }, { to: ACE, name: 'Ace again' }, { to: DAN }, ...targets(BOB)],
        follow_up_sms: { completed: 'Thanks {name}! We noted {price_per_square} per square.', busy: 'Sorry we missed you, {name}.' },
      }),
    );
    expect(m.mission_id).toMatch(/^msn_/);
    // One step per target that is not a repeat, plus the result.
    expect(m.steps.map((s: any) => s.step_id)).toEqual(['target-1', 'target-2', 'target-3', 'target-5', 'target-6', 'result']);
    expect(m.steps.find((s: any) => s.step_id === 'target-3')).toMatchObject({ status: 'skipped', note: expect.stringMatching(/invalid: .*targets\[2\]\.to/) });
    expect(m.steps.find((s: any) => s.step_id === 'target-5')).toMatchObject({ status: 'skipped', note: expect.stringMatching(/do_not_contact/) });
    // The answer reports the bad targets by index at once; the rest are being called.
    expect(m.campaign).toMatchObject({ class: 'sweep', round: 1, targets: 6, waiting: 0 });
    expect(m.campaign.on_call + m.campaign.done).toBe(3);
    expect(m.campaign.skipped.map((t: any) => [t.index, t.code])).toEqual([[2, 'invalid'], [3, 'duplicate'], [4, 'do_not_contact']]);

    const done = await ended(m.mission_id);
    expect(done.status).toBe('succeeded');
    const { result } = done;
    expect(result.class).toBe('sweep');
    expect(result.counts).toMatchObject({ targets: 6, called: 3, skipped: 3, completed: 2, busy: 1 });
    expect(result.table.map((r: any) => [r.index, r.status])).toEqual([[0, 'completed'], [1, 'busy'], [5, 'completed']]);
    expect(result.table[0].fields).toEqual({ price_per_square: '$450', available: 'yes' });
    expect(result.table[2].fields).toEqual({ price_per_square: '$390', available: 'no' });
    expect(result.skipped).toEqual([
      { index: 2, to: '555-0100', code: 'invalid', reason: expect.stringMatching(/E\.164/) },
      { index: 3, to: ACE, code: 'duplicate', reason: `${ACE} is also targets[0]; it is called once.` },
      { index: 4, to: DAN, code: 'do_not_contact', reason: expect.any(String) },
    ]);
    expect(result.winner).toBeNull();
    expect(done.summary).toMatch(/^6 target\(s\): .*2 completed, 1 busy/);

    // Exactly one call per number called, none to the skipped ones.
    const calls = (await h.call('list_calls', { mission_id: m.mission_id })).calls;
    expect(calls.map((c: any) => c.to).sort()).toEqual([ACE, BOB, BUSY].sort());
    // Follow-ups by outcome, with placeholders filled in; none where the template has no entry.
    const sms = (await h.call('list_messages', { mission_id: m.mission_id })).messages;
    expect(sms.map((s: any) => [s.to, s.body]).sort()).toEqual(
      [
        [ACE, 'Thanks Ace Roofing! We noted $450 per square.'],
        [BOB, 'Thanks Bob Roofs! We noted $390 per square.'],
        [BUSY, 'Sorry we missed you, Always Busy.'],
      ].sort(),
    );
    expect(sms.every((s: any) => ['sent', 'delivered'].includes(s.status))).toBe(true);
    const types = (await h.call('get_mission', { mission_id: m.mission_id })).recent_events.map((e: any) => e.type);
    expect(types).toContain('follow_up_sms');
    expect(types.at(-1)).toBe('mission_ended');
  });

  it('retries by outcome with the call’s retry policy', async () => {
    await start();
    const m = await h.call('create_mission', campaign({ targets: targets(BUSY), call: { retry: { max_attempts: 3, interval_seconds: 0 } } }));
    const done = await ended(m.mission_id);
    expect(done.status).toBe('failed');
    const [call] = (await h.call('list_calls', { mission_id: m.mission_id })).calls;
    expect((await h.call('get_call', { call_id: call.call_id })).attempts.map((a: any) => a.status)).toEqual(['busy', 'busy', 'busy']);
    const retries = done.recent_events.filter((e: any) => e.type === 'call_retry');
    expect(retries.map((e: any) => e.summary)).toEqual([
      expect.stringMatching(/ended busy; attempt 2 of 3 at /),
      expect.stringMatching(/ended busy; attempt 3 of 3 at /),
    ]);
  });

  it('refuses what cannot be a campaign, saying what to fix', async () => {
    await start();
    expect(await h.fail('create_mission', campaign({ targets: [{ to: 'nope' }, { to: '123' }] }))).toMatch(/No target can be called: .*targets\[0\]\.to/);
    expect(await h.fail('create_mission', campaign({ targets: [] }))).toMatch(/at least one number/);
    expect(await h.fail('create_mission', campaign({ targets: targets(ACE), class: 'screening' }))).toMatch(/class "screening" needs `rubric`/);
    expect(await h.fail('create_mission', campaign({ targets: targets(ACE), class: 'screening', rubric: [{ field: 'colour', weight: 1, prefer: 'yes' }] }))).toMatch(
      /rubric\[0\] names field "colour", which the calls do not collect; their insight_schema has price_per_square, available/,
    );
    expect(await h.fail('create_mission', campaign({ targets: targets(ACE), stop_when: { field: 'available', equals: 'yes' } }))).toMatch(/`stop_when` only applies to class "gather_then_act"/);
    expect(await h.fail('create_mission', campaign({ targets: targets(ACE), follow_up_sms: { completed: 'Hi {nickname}' } }))).toMatch(/placeholder \{nickname\}/);
    expect(await h.fail('create_mission', campaign({ rubric: RUBRIC }))).toMatch(/`rubric` belongs to a campaign: give `targets` too/);
    expect(await h.fail('create_mission', campaign({ targets: targets(ACE), call: { mode: 'conversation' } }))).toMatch(/Input validation error|"conversation" needs you/);
    expect(await h.fail('create_mission', campaign({ targets: Array.from({ length: 1001 }, (_, i) => ({ to: `+1555040${String(i).padStart(4, '0')}` })) }))).toMatch(/1000/);
    expect((await h.call('list_missions', {})).missions).toEqual([]);
  });
});

describe('screening', () => {
  it('scores the answered calls with the rubric, ranks them, and names the winner and why', async () => {
    await start();
    const m = await h.call('create_mission', campaign({ class: 'screening', rubric: RUBRIC, targets: targets(ACE, BOB, CAT, DAN, BUSY) }));
    expect(m.steps.map((s: any) => s.step_id).slice(-2)).toEqual(['rank', 'result']);
    const done = await ended(m.mission_id);
    expect(done.status).toBe('succeeded');
    // Ace: cheapest of those who can start (450 between 390 and 520) and available; Bob: cheapest but not available.
    const order = done.result.ranking.map((r: any) => r.to);
    expect(order).toEqual([ACE, BOB, CAT, DAN]);
    const [ace, bob, cat, dan] = done.result.ranking;
    expect(ace.score).toBeCloseTo(2 * (520 - 450) / 130 + 1, 3);
    expect(bob.score).toBe(2);
    expect(cat.score).toBe(1);
    expect(dan.score).toBe(1);
    expect(dan.reasons).toContain('price_per_square: missing (0)');
    expect(bob.reasons).toEqual(['price_per_square $390: the lowest (+2.00 of 2.00)', 'available no: not yes (+0.00 of 1.00)']);
    expect(done.result.winner).toMatchObject({ to: ACE, name: 'Ace Roofing', why: expect.stringMatching(/^Scored 2\.0\d+ of 3: price_per_square \$450/) });
    expect(done.summary).toMatch(/Winner: Ace Roofing \(\+15550300001\)/);
    expect(done.result.table.map((r: any) => r.rank ?? null)).toEqual([1, 2, 3, 4, null]);
    expect(done.steps.find((s: any) => s.step_id === 'rank').status).toBe('completed');

    const insights = await h.call('get_insights', { mission_id: m.mission_id });
    expect(insights.rows).toHaveLength(5);
    expect(insights.ranking.map((r: any) => r.to)).toEqual(order);
  });
});

describe('negotiation', () => {
  it('calls strictly one at a time, and each call is told what the earlier ones offered', async () => {
    await start({ SWITCHBOARD_SIM_TIME_SCALE: '0.02', SWITCHBOARD_MAX_CONCURRENT_CALLS: '10' });
    // With a follow-up SMS after each call, whose sending must not start the next call early either.
    const m = await h.call('create_mission', campaign({ class: 'negotiation', rubric: RUBRIC, targets: targets(SLOW, BOB, ACE), follow_up_sms: { completed: 'Thanks {name}!' } }));
    // Only the first target is called at first, though ten lines are free.
    expect((await h.call('list_calls', { mission_id: m.mission_id })).calls.map((c: any) => c.to)).toEqual([SLOW]);
    expect(m.campaign).toMatchObject({ class: 'negotiation', waiting: 2, on_call: 1, done: 0, skipped: [] });
    const done = await ended(m.mission_id);
    expect(done.status).toBe('succeeded');

    const calls = await Promise.all(
      (await h.call('list_calls', { mission_id: m.mission_id })).calls.map((c: any) => h.call('get_call', { call_id: c.call_id })),
    );
    calls.sort((a: any, b: any) => a.attempts[0].started_at.localeCompare(b.attempts[0].started_at));
    expect(calls.map((c: any) => c.to)).toEqual([SLOW, BOB, ACE]);
    for (let i = 1; i < calls.length; i++) expect(calls[i].attempts[0].started_at >= calls[i - 1].ended_at).toBe(true);

    expect(calls[0].instructions).not.toMatch(/Earlier calls/);
    expect(calls[1].instructions).toMatch(/Earlier calls in this campaign learned/);
    expect(calls[1].instructions).toMatch(/- Slow Sam \(\+15550300006\): price_per_square: \$400; available: yes/);
    expect(calls[1].instructions).toMatch(/Best offer so far: Slow Sam/);
    // Between $390 and $400 the price weighs 2 and availability 1: Bob's cheaper offer (2 + 0) beats Sam's (0 + 1).
    expect(calls[2].instructions).toMatch(/- Bob Roofs \(\+15550300002\): price_per_square: \$390; available: no/);
    expect(calls[2].instructions).toMatch(/Best offer so far: Bob Roofs \(\+15550300002\): price_per_square: \$390/);
    // With Ace's $450 in the range, Sam ($400, available) comes out on top.
    expect(done.result.winner.to).toBe(SLOW);
  });
});

describe('multi_round', () => {
  const rounds = {
    advance_top: 2,
    round2_call: { instructions: 'Ask for their best and final price.', insight_schema: { type: 'object', properties: { final_price: { type: 'string' } } } },
  };

  it('without elicitation: waits awaiting_approval, then approve_round with chosen targets runs round 2', async () => {
    await start();
    const m = await h.call('create_mission', campaign({ class: 'multi_round', rubric: RUBRIC, rounds, targets: targets(ACE, BOB, CAT) }));
    const waiting = await statusIs(m.mission_id, 'awaiting_approval');
    expect(waiting.steps.find((s: any) => s.step_id === 'approval').status).toBe('in_progress');
    expect(waiting.recent_events.at(-1)).toMatchObject({ type: 'mission_status', summary: expect.stringMatching(/round 2 would call Ace Roofing .*, Bob Roofs/) });
    // Nothing is called while it waits.
    expect((await h.call('list_calls', { mission_id: m.mission_id })).calls).toHaveLength(3);
    expect(await h.fail('approve_round', { mission_id: m.mission_id, targets: ['+15550399999'] })).toMatch(/not a round-1 target that answered; choose among/);

    const approved = await h.call('approve_round', { mission_id: m.mission_id, targets: [CAT] });
    expect(approved.status).toBe('active');
    const done = await ended(m.mission_id);
    expect(done.status).toBe('succeeded');
    const calls = (await h.call('list_calls', { mission_id: m.mission_id })).calls;
    expect(calls).toHaveLength(4);
    const round2 = await h.call('get_call', { call_id: calls.find((c: any) => c.step_id === 'round2-target-3').call_id });
    expect(round2.to).toBe(CAT);
    expect(round2.instructions).toMatch(/^Ask for their best and final price\.[\s\S]*In round 1 they said: price_per_square: \$520; available: yes\./);
    expect(done.result.round1.map((r: any) => r.to)).toEqual([ACE, BOB, CAT]);
    expect(done.result.table.map((r: any) => r.to)).toEqual([CAT]);
    expect(done.result.winner.to).toBe(CAT);
    expect(await h.fail('approve_round', { mission_id: m.mission_id })).toMatch(/this one is succeeded/);
  });

  it('with elicitation: the client is asked; accepting calls the top N again, declining ends with round 1', async () => {
    const asked: string[] = [];
    let answer: 'accept' | 'decline' = 'accept';
    const client = new Client({ name: 'elicit', version: '0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push((req.params as { message: string }).message);
      return answer === 'accept' ? { action: 'accept', content: { approve: true } } : { action: 'decline' };
    });
    await start({}, client);

    const m = await h.call('create_mission', campaign({ class: 'multi_round', rubric: RUBRIC, rounds, targets: targets(ACE, BOB, CAT) }));
    const done = await ended(m.mission_id);
    expect(asked[0]).toMatch(/Round 1 is done\. Call these 2 again for round 2\?\n1\. Ace Roofing .*\n2\. Bob Roofs/);
    expect(done.status).toBe('succeeded');
    expect(done.steps.find((s: any) => s.step_id === 'approval')).toMatchObject({ status: 'completed', note: expect.stringMatching(/elicitation/) });
    expect(done.result.table.map((r: any) => r.to).sort()).toEqual([ACE, BOB].sort());

    answer = 'decline';
    const m2 = await h.call('create_mission', campaign({ name: 'Roofers 2', class: 'multi_round', rubric: RUBRIC, rounds, targets: targets(ACE, BOB, CAT) }));
    const done2 = await ended(m2.mission_id);
    expect(asked).toHaveLength(2);
    expect(done2.steps.find((s: any) => s.step_id === 'approval').status).toBe('skipped');
    expect((await h.call('list_calls', { mission_id: m2.mission_id })).calls).toHaveLength(3);
    expect(done2.result.winner.to).toBe(ACE);
    expect(done2.summary).toMatch(/Round 2 was declined/);
  });
});

describe('gather_then_act', () => {
  it('stops at the first call that meets stop_when: calls not yet dialed never are, and the mission succeeds with that target', async () => {
    await start({ SWITCHBOARD_MAX_CONCURRENT_CALLS: '1' });
    const m = await h.call(
      'create_mission',
      campaign({ class: 'gather_then_act', stop_when: { field: 'available', equals: 'yes' }, targets: targets(BOB, ACE, CAT, DAN) }),
    );
    const done = await ended(m.mission_id);
    expect(done.status).toBe('succeeded');
    expect(done.result.winner).toMatchObject({ index: 1, to: ACE, why: 'available was "yes", which meets stop_when.' });
    const calls = await Promise.all((await h.call('list_calls', { mission_id: m.mission_id })).calls.map((c: any) => h.call('get_call', { call_id: c.call_id })));
    const byTo = Object.fromEntries(calls.map((c: any) => [c.to, c]));
    expect(byTo[BOB].status).toBe('completed');
    expect(byTo[ACE].status).toBe('completed');
    for (const n of [CAT, DAN]) {
      expect(byTo[n]).toMatchObject({ status: 'canceled', attempts: [], error: { code: 'campaign_stopped' } });
    }
    expect(done.steps.filter((s: any) => s.status === 'skipped').map((s: any) => s.step_id)).toEqual(['target-3', 'target-4']);
    expect(done.recent_events.some((e: any) => e.type === 'stop_when_met')).toBe(true);
  });

  it('fails, saying so, when no call meets stop_when', async () => {
    await start();
    const m = await h.call('create_mission', campaign({ class: 'gather_then_act', stop_when: { field: 'available', equals: 'yes' }, targets: targets(BOB) }));
    const done = await ended(m.mission_id);
    expect(done.status).toBe('failed');
    expect(done.summary).toMatch(/No call met stop_when \(available\)/);
  });
});

describe('pause and resume', () => {
  it('a paused campaign dials nothing new while its live call finishes; resuming calls the rest', async () => {
    await start({ SWITCHBOARD_SIM_TIME_SCALE: '0.1', SWITCHBOARD_MAX_CONCURRENT_CALLS: '1' });
    const m = await h.call('create_mission', campaign({ targets: targets(SLOW, ACE, BOB) }));
    await until(async () => (await h.call('list_calls', { mission_id: m.mission_id, status: 'ringing' })).calls.length === 1, 'the first call to ring');
    const paused = await h.call('pause_mission', { mission_id: m.mission_id });
    expect(paused.status).toBe('paused');
    // Held, not waiting for a line.
    await new Promise((r) => setTimeout(r, 50));
    const waiting = (await h.call('list_calls', { mission_id: m.mission_id })).calls.filter((c: any) => c.to !== SLOW);
    expect(waiting.map((c: any) => c.status)).toEqual(['scheduled', 'scheduled']);
    expect(await h.fail('pause_mission', { mission_id: m.mission_id })).toMatch(/pause_mission pauses an active mission; this one is paused/);

    // The live call finishes; the others stay undialed.
    await until(async () => (await h.call('list_calls', { mission_id: m.mission_id, status: 'completed' })).calls.length === 1, 'the live call to finish');
    await new Promise((r) => setTimeout(r, 300));
    const held = (await h.call('list_calls', { mission_id: m.mission_id })).calls.filter((c: any) => c.to !== SLOW);
    expect(held.map((c: any) => c.status)).toEqual(['scheduled', 'scheduled']);
    expect((await h.call('get_mission', { mission_id: m.mission_id })).status).toBe('paused');

    expect((await h.call('resume_mission', { mission_id: m.mission_id })).status).toBe('active');
    const done = await ended(m.mission_id);
    expect(done.result.counts).toMatchObject({ called: 3, completed: 3 });
    expect(done.recent_events.filter((e: any) => e.type === 'mission_status').map((e: any) => e.payload.to)).toEqual(['paused', 'active']);
  });
});

describe('preview_mission', () => {
  class TestClock {
    constructor(public t: number) {}
    now = (): number => this.t;
  }
  const PARIS = '+33155550123';
  const TOKYO = '+81355550123';
  const NEW_YORK = '+12125550123';
  const LONDON = '+442075550123';
  const NO_ZONE = '+80012345678';

  it('says who is called when (UTC and local), deferred or skipped and why, writes nothing, and is what then happens', async () => {
    // 14:00 UTC: 15:00 in Paris, 09:00 in New York, 14:00 in London, 23:00 in Tokyo.
    const clock = new TestClock(Date.parse('2026-01-15T14:00:00Z'));
    h = await startHarness({ SWITCHBOARD_CALLING_HOURS: '08:00-21:00', SWITCHBOARD_MAX_CALLS_PER_NUMBER_PER_DAY: '1', SWITCHBOARD_SIM_DIRECTORY: directory() }, { clock });
    await h.call('initiate_call', { to: LONDON, mode: 'notify', message: 'Earlier call today.' });
    await h.call('add_do_not_contact', { number: ACE });
    const input = campaign({
      targets: [{ to: PARIS }, { to: TOKYO }, { to: NEW_YORK }, { to: NO_ZONE }, { to: LONDON }, { to: ACE }, { to: 'tel:5550100' }, { to: PARIS }, { to: BOB, timezone: 'Asia/Dubai' }],
    });
    const preview = await h.call('preview_mission', input);
    const row = (i: number) => preview.targets[i];
    expect(preview.counts).toEqual({ targets: 9, call: 3, deferred: 1, skipped: 5 });
    expect(row(0)).toMatchObject({ action: 'call', at: '2026-01-15T14:00:00.000Z', local_time: '15:00', timezone: 'Europe/Paris' });
    expect(row(1)).toMatchObject({ action: 'deferred', at: '2026-01-15T23:00:00.000Z', local_time: '08:00', timezone: 'Asia/Tokyo', code: 'calling_hours' });
    expect(row(1).reason).toMatch(/it is 23:00 in Asia\/Tokyo .*outside calling hours 08:00-21:00/);
    expect(row(2)).toMatchObject({ action: 'call', local_time: '09:00', timezone: 'America/New_York' });
    expect(row(3)).toMatchObject({ action: 'skipped', code: 'no_time_zone', reason: expect.stringMatching(/No time zone is known for \+80012345678/) });
    expect(row(4)).toMatchObject({ action: 'skipped', code: 'daily_cap', reason: expect.stringMatching(/daily cap of 1 call per number is reached/) });
    expect(row(5)).toMatchObject({ action: 'skipped', code: 'do_not_contact' });
    expect(row(6)).toMatchObject({ action: 'skipped', code: 'invalid' });
    expect(row(7)).toMatchObject({ action: 'skipped', code: 'duplicate', reason: `${PARIS} is also targets[0]; it is called once.` });
    // 18:00 in Dubai: a zone given with the target wins over the one the sim's directory gives.
    expect(row(8)).toMatchObject({ action: 'call', local_time: '18:00', timezone: 'Asia/Dubai' });
    expect((await h.call('list_missions', {})).missions).toEqual([]);
    expect((await h.call('list_calls', {})).calls).toHaveLength(1);

    // What then happens is what the preview said.
    const m = await h.call('create_mission', input);
    const steps = Object.fromEntries(m.steps.map((s: any) => [s.step_id, s]));
    for (const [i, entry] of preview.targets.entries()) {
      if (entry.action !== 'skipped' || entry.code === 'duplicate') continue;
      expect(steps[`target-${i + 1}`]).toMatchObject({ status: 'skipped', note: expect.stringContaining(entry.code) });
    }
    expect(steps['target-8']).toBeUndefined();
    const calls = await Promise.all((await h.call('list_calls', { mission_id: m.mission_id })).calls.map((c: any) => h.call('get_call', { call_id: c.call_id })));
    expect(calls.map((c: any) => c.to).sort()).toEqual([PARIS, TOKYO, NEW_YORK, BOB].sort());
    const tokyo = calls.find((c: any) => c.to === TOKYO);
    expect(tokyo).toMatchObject({ status: 'scheduled', attempts: [], deferred: { code: 'calling_hours', until: row(1).at } });
    const events = (await h.call('get_mission', { mission_id: m.mission_id })).recent_events;
    expect(events.find((e: any) => e.type === 'call_deferred')).toMatchObject({ step_id: 'target-2', payload: { call_id: tokyo.call_id, until: row(1).at } });
    await until(async () => {
      const live = await Promise.all(calls.filter((c: any) => c.to !== TOKYO).map((c: any) => h.call('get_call', { call_id: c.call_id })));
      return live.every((c: any) => c.status === 'completed');
    }, 'the calls inside the window to be made');
    expect((await h.call('get_mission', { mission_id: m.mission_id })).status).toBe('active');

    // 08:00 in Tokyo: the deferred call is dialed, and the campaign ends.
    clock.t = Date.parse(row(1).at);
    h.app.scheduler.wake();
    const done = await ended(m.mission_id);
    expect(done.result.counts).toMatchObject({ targets: 9, called: 4, completed: 4, skipped: 5 });
    expect(done.result.skipped.map((s: any) => s.code)).toEqual(['no_time_zone', 'daily_cap', 'do_not_contact', 'invalid', 'duplicate']);
  });
});
