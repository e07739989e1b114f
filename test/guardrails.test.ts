import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../src/time.js';
import { simCarrier, startHarness, tempDir, until, type Harness } from './helpers.js';

/**
 * The calling guardrails through a real MCP client on the simulated carrier, with a clock the test sets: calling hours
 * in the callee's zone (one zone, several, a given `timezone`, none), the daily caps, owners, and opt-outs heard on
 * a call. Each test fails when the guard it is about is taken out.
 */
let h: Harness;
afterEach(() => h?.close());

class TestClock implements Clock {
  private t: number;
  constructor(at: string) {
    this.t = Date.parse(at);
  }
  now = (): number => this.t;
  /** Moves to `at` and lets the scheduler look at what has come due. */
  set(at: string, harness = h): void {
    this.t = Date.parse(at);
    harness.app.scheduler.wake();
  }
}

const HOURS = { SWITCHBOARD_CALLING_HOURS: '08:00-21:00' };
const PARIS = '+33155550123';
const TOKYO = '+81355550123';
const NEW_YORK = '+12125550123';
/** South Dakota: the prefix says Mountain or Central time, no more. */
const SOUTH_DAKOTA = '+16055550123';
/** Toll-free: anywhere in the North American plan, Guam to Newfoundland. */
const TOLL_FREE = '+18005550123';
/** International freephone: no time zone at all. */
const NO_ZONE = '+80012345678';

async function finished(callId: string) {
  const waited = await h.call('wait_for_calls', { call_ids: [callId], timeout_seconds: 10 });
  expect(waited.done).toBe(true);
  return h.call('get_call', { call_id: callId });
}

async function start(at: string, env: Record<string, string> = {}): Promise<TestClock> {
  const clock = new TestClock(at);
  h = await startHarness({ ...HOURS, ...env }, { clock });
  return clock;
}

describe('calling hours in the callee’s time zone', () => {
  it('a European number at 06:30 Paris time is deferred to 08:00 there, not dialed, and dialed once the window opens', async () => {
    const clock = await start('2026-01-15T05:30:00Z');
    const call = await h.call('initiate_call', { to: PARIS, mode: 'notify', message: 'Your table is ready.' });
    expect(call).toMatchObject({ status: 'scheduled', scheduled_at: '2026-01-15T07:00:00.000Z', attempts: [], deferred: { code: 'calling_hours', until: '2026-01-15T07:00:00.000Z' } });
    expect(call.deferred.reason).toMatch(/it is 06:30 in Europe\/Paris .*outside calling hours 08:00-21:00; the window opens there at 08:00/);

    clock.set('2026-01-15T06:59:00Z');
    await new Promise((r) => setTimeout(r, 50));
    expect((await h.call('get_call', { call_id: call.call_id })).attempts).toEqual([]);

    clock.set('2026-01-15T07:00:00Z');
    const done = await finished(call.call_id);
    expect(done).toMatchObject({ status: 'completed', attempts: [{ status: 'completed' }] });
  });

  it('an Asian number at 22:00 Tokyo time waits for 08:00 the next morning there; SMS too', async () => {
    await start('2026-01-15T13:00:00Z');
    const call = await h.call('initiate_call', { to: TOKYO, mode: 'notify', message: 'Hello.' });
    expect(call).toMatchObject({ status: 'scheduled', deferred: { code: 'calling_hours', until: '2026-01-15T23:00:00.000Z' } });
    expect(call.deferred.reason).toMatch(/22:00 in Asia\/Tokyo/);
    const sms = await h.call('schedule_sms', { to: TOKYO, body: 'Hello.' });
    expect(sms).toMatchObject({ status: 'scheduled', deferred: { code: 'calling_hours', until: '2026-01-15T23:00:00.000Z' } });
    expect((await h.call('list_messages', { with: TOKYO })).messages[0]).toMatchObject({ message_id: sms.message_id, deferred: { code: 'calling_hours' } });
  });

  it('a US number that may be in two zones is called only when the window holds in both', async () => {
    const clock = await start('2026-01-15T14:30:00Z'); // 08:30 Central, 07:30 Mountain
    const early = await h.call('initiate_call', { to: SOUTH_DAKOTA, mode: 'notify', message: 'Hi.' });
    expect(early).toMatchObject({ status: 'scheduled', deferred: { code: 'calling_hours', until: '2026-01-15T15:00:00.000Z' } }); // 08:00 Mountain
    expect(early.deferred.reason).toMatch(/may be in 2 time zones \(America\/Denver, America\/North_Dakota\/Center\).*07:30 in America\/Denver/);

    clock.set('2026-01-16T02:30:00Z'); // 20:30 Central, 19:30 Mountain: inside both
    const evening = await h.call('initiate_call', { to: SOUTH_DAKOTA, mode: 'notify', message: 'Hi.' });
    expect(evening.deferred).toBeNull();

    clock.set('2026-01-16T03:30:00Z'); // 21:30 Central: too late there, though 20:30 in Denver
    const late = await h.call('initiate_call', { to: SOUTH_DAKOTA, mode: 'notify', message: 'Hi.' });
    expect(late).toMatchObject({ status: 'scheduled', deferred: { until: '2026-01-16T15:00:00.000Z' } });
    expect(late.deferred.reason).toMatch(/21:30 in America\/North_Dakota\/Center/);
  });

  it('a number the prefix places anywhere in North America waits until it is a decent hour from Guam to Newfoundland', async () => {
    await start('2026-01-15T12:00:00Z');
    const call = await h.call('initiate_call', { to: TOLL_FREE, mode: 'notify', message: 'Hi.' });
    // 22:00 UTC: 08:00 in Guam, 11:00 in Pago Pago, 18:30 in St. John's.
    expect(call).toMatchObject({ status: 'scheduled', deferred: { code: 'calling_hours', until: '2026-01-15T22:00:00.000Z' } });
    expect(call.deferred.reason).toMatch(/may be in 42 time zones/);
  });

  it('an explicit timezone wins over the number; a bad one is refused', async () => {
    await start('2026-01-15T10:00:00Z'); // 11:00 in Paris, 05:00 in New York
    expect((await h.call('initiate_call', { to: PARIS, mode: 'notify', message: 'Hi.' })).deferred).toBeNull();
    const call = await h.call('initiate_call', { to: PARIS, mode: 'notify', message: 'Hi.', timezone: 'America/New_York' });
    expect(call).toMatchObject({ status: 'scheduled', timezone: 'America/New_York', deferred: { code: 'calling_hours', until: '2026-01-15T13:00:00.000Z' } });
    expect(call.deferred.reason).toMatch(/05:00 in America\/New_York \(the `timezone` given\)/);
    expect(await h.fail('initiate_call', { to: PARIS, timezone: 'Mars/Olympus_Mons' })).toMatch(/`timezone` must be an IANA time zone name/);
    expect(await h.fail('schedule_sms', { to: PARIS, body: 'x', timezone: 'EST5EDT-ish' })).toMatch(/`timezone` must be an IANA time zone name/);
  });

  it('a number with no known zone is refused unless a timezone is given', async () => {
    await start('2026-01-15T10:00:00Z');
    expect(await h.fail('initiate_call', { to: NO_ZONE, mode: 'notify', message: 'Hi.' })).toMatch(/No time zone is known for \+80012345678.*pass `timezone`/);
    expect(await h.fail('schedule_sms', { to: NO_ZONE, body: 'Hi.' })).toMatch(/No time zone is known for \+80012345678/);
    expect((await h.call('list_calls')).calls).toEqual([]);
    const call = await h.call('initiate_call', { to: NO_ZONE, mode: 'notify', message: 'Hi.', timezone: 'Asia/Singapore' }); // 18:00 there
    expect(call.deferred).toBeNull();
    expect((await finished(call.call_id)).status).toBe('completed');
  });

  it('a scheduled_at of 3 am local is accepted and deferred to 08:00, with the reason in the result', async () => {
    await start('2026-01-15T17:00:00Z'); // noon in New York
    const call = await h.call('initiate_call', { to: NEW_YORK, mode: 'notify', message: 'Wake up!', scheduled_at: '2026-01-16T03:00:00-05:00' });
    expect(call).toMatchObject({ created: true, status: 'scheduled', scheduled_at: '2026-01-16T13:00:00.000Z', deferred: { code: 'calling_hours', until: '2026-01-16T13:00:00.000Z' } });
    expect(call.deferred.reason).toMatch(/At 2026-01-16T08:00:00.000Z it is 03:00 in America\/New_York .*outside calling hours 08:00-21:00; the window opens there at 08:00\. Deferred to 2026-01-16T13:00:00.000Z\./);
    const sms = await h.call('schedule_sms', { to: NEW_YORK, body: 'Wake up!', scheduled_at: '2026-01-16T03:00:00-05:00' });
    expect(sms).toMatchObject({ status: 'scheduled', scheduled_at: '2026-01-16T13:00:00.000Z', deferred: { code: 'calling_hours' } });
  });

  it('work that comes due outside the window is not dialed: a retry at 21:30 waits for 08:00', async () => {
    // The busy sim number, said to be in New York.
    const clock = await start('2026-01-16T00:30:00Z'); // 19:30 in New York
    const placed = await h.call('initiate_call', { to: '+15550100002', timezone: 'America/New_York', retry: { max_attempts: 2, interval_seconds: 7200 } });
    expect(placed.deferred).toBeNull();
    await until(async () => (await h.call('get_call', { call_id: placed.call_id })).status === 'scheduled', 'the retry to be scheduled');
    expect((await h.call('get_call', { call_id: placed.call_id })).scheduled_at).toBe('2026-01-16T02:30:00.000Z');

    clock.set('2026-01-16T02:30:00Z'); // 21:30 in New York
    const deferred = await until(async () => {
      const call = await h.call('get_call', { call_id: placed.call_id });
      return call.deferred && call;
    }, 'the retry to be deferred');
    expect(deferred).toMatchObject({ status: 'scheduled', scheduled_at: '2026-01-16T13:00:00.000Z', deferred: { code: 'calling_hours', until: '2026-01-16T13:00:00.000Z' } });
    expect(deferred.attempts).toHaveLength(1);

    clock.set('2026-01-16T13:00:00Z');
    const done = await finished(placed.call_id);
    expect(done.attempts.map((a: any) => a.status)).toEqual(['busy', 'busy']);
  });
});

describe('calling hours on the simulated carrier', () => {
  const LOCAL = Intl.DateTimeFormat().resolvedOptions().timeZone;
  /** The first whole hour of 2026-01-15 (UTC) when it is `hour` o'clock where Switchboard runs. */
  const localHour = (hour: number) => {
    for (let h = 0; h < 48; h++) {
      const at = Date.UTC(2026, 0, 15, h);
      if (Number(new Intl.DateTimeFormat('en-GB', { timeZone: LOCAL, hour: '2-digit', hourCycle: 'h23' }).format(at)) === hour) return new Date(at).toISOString();
    }
    throw new Error('no such hour');
  };

  it('a built-in person (a made-up 555 number) lives where Switchboard runs; a directory timezone says otherwise', async () => {
    const dir = tempDir();
    const file = join(dir, 'people.json');
    writeFileSync(file, JSON.stringify({ '+15550109001': { name: 'Tokyo Office', timezone: 'Asia/Tokyo' } }));
    const clock = await start(localHour(3), { SWITCHBOARD_SIM_DIRECTORY: file });
    const local = await h.call('initiate_call', { to: '+15550100001', mode: 'notify', message: 'Hi.' });
    expect(local.deferred).toMatchObject({ code: 'calling_hours' });
    expect(local.deferred.reason).toContain(`it is 03:00 in ${LOCAL}`);

    clock.set('2026-01-15T20:00:00Z'); // 05:00 in Tokyo
    const tokyo = await h.call('initiate_call', { to: '+15550109001', mode: 'notify', message: 'Hi.' });
    expect(tokyo.deferred).toMatchObject({ code: 'calling_hours', until: '2026-01-15T23:00:00.000Z' });
    expect(tokyo.deferred.reason).toContain('it is 05:00 in Asia/Tokyo');
  });
});

describe('daily caps per number, rolling 24 h', () => {
  const CAPS = { SWITCHBOARD_CALLING_HOURS: 'off', SWITCHBOARD_MAX_CALLS_PER_NUMBER_PER_DAY: '3', SWITCHBOARD_MAX_SMS_PER_NUMBER_PER_DAY: '5' };
  const ACE = '+15550100001';

  it('the 4th call to a number within 24 h is deferred until the first is 24 h old, then dialed', async () => {
    const clock = await start('2026-01-15T09:00:00Z', CAPS);
    for (const at of ['2026-01-15T09:00:00Z', '2026-01-15T10:00:00Z', '2026-01-15T11:00:00Z']) {
      clock.set(at);
      const call = await h.call('initiate_call', { to: ACE, mode: 'notify', message: 'Hi.' });
      expect(call.deferred).toBeNull();
      expect((await finished(call.call_id)).status).toBe('completed');
    }
    clock.set('2026-01-15T12:00:00Z');
    const fourth = await h.call('initiate_call', { to: ACE, mode: 'notify', message: 'Hi.' });
    expect(fourth).toMatchObject({ status: 'scheduled', attempts: [], deferred: { code: 'daily_cap', until: '2026-01-16T09:00:00.000Z' } });
    expect(fourth.deferred.reason).toMatch(/daily cap of 3 calls per number is reached for \+15550100001 \(3 dialed in the 24 h before/);
    // Other numbers are not held back.
    expect((await h.call('initiate_call', { to: '+15550100008', mode: 'notify', message: 'Hi.' })).deferred).toBeNull();

    clock.set('2026-01-16T09:00:00Z');
    expect((await finished(fourth.call_id)).attempts).toHaveLength(1);
  });

  it('the count survives a restart', async () => {
    const dataDir = tempDir();
    const clock = new TestClock('2026-01-15T09:00:00Z');
    h = await startHarness({ ...CAPS, SWITCHBOARD_DATA_DIR: dataDir }, { clock });
    for (let i = 0; i < 3; i++) await finished((await h.call('initiate_call', { to: ACE, mode: 'notify', message: 'Hi.' })).call_id);
    await h.close();
    h = await startHarness({ ...CAPS, SWITCHBOARD_DATA_DIR: dataDir }, { clock });
    expect((await h.call('initiate_call', { to: ACE, mode: 'notify', message: 'Hi.' })).deferred).toMatchObject({ code: 'daily_cap', until: '2026-01-16T09:00:00.000Z' });
  });

  it('counts at dispatch too: four calls (six SMS) scheduled at once, the 4th (6th) waits', async () => {
    const clock = await start('2026-01-15T09:00:00Z', CAPS);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const call = await h.call('initiate_call', { to: ACE, mode: 'notify', message: 'Hi.', scheduled_at: `2026-01-15T10:00:0${i}Z` });
      expect(call.deferred).toBeNull(); // nothing was dialed yet when they were asked for
      ids.push(call.call_id);
    }
    const sms: string[] = [];
    for (let i = 0; i < 6; i++) sms.push((await h.call('schedule_sms', { to: ACE, body: `Note ${i}`, scheduled_at: `2026-01-15T10:00:0${i}Z` })).message_id);
    clock.set('2026-01-15T10:00:05Z');
    const sixth = await until(async () => (await h.call('list_messages', { with: ACE })).messages.find((m: any) => m.message_id === sms[5] && m.deferred), 'the 6th SMS to be deferred');
    expect(sixth).toMatchObject({ status: 'scheduled', deferred: { code: 'daily_cap', until: '2026-01-16T10:00:05.000Z' } });
    const fourth = await until(async () => {
      const call = await h.call('get_call', { call_id: ids[3] });
      return call.deferred && call;
    }, 'the 4th call to be deferred');
    expect(fourth).toMatchObject({ status: 'scheduled', attempts: [], deferred: { code: 'daily_cap', until: '2026-01-16T10:00:05.000Z' } });
    const first3 = await h.call('wait_for_calls', { call_ids: ids.slice(0, 3), timeout_seconds: 10 });
    expect(first3.calls.map((c: any) => c.status)).toEqual(['completed', 'completed', 'completed']);
  });

  it('the 6th SMS to a number within 24 h is deferred; a retried call counts each attempt dialed', async () => {
    const clock = await start('2026-01-15T09:00:00Z', CAPS);
    for (let i = 0; i < 5; i++) expect((await h.call('schedule_sms', { to: ACE, body: `Note ${i}` })).deferred).toBeNull();
    const sixth = await h.call('schedule_sms', { to: ACE, body: 'Note 5' });
    expect(sixth).toMatchObject({ status: 'scheduled', deferred: { code: 'daily_cap', until: '2026-01-16T09:00:00.000Z' } });
    expect(sixth.deferred.reason).toMatch(/daily cap of 5 SMS per number/);
    clock.set('2026-01-16T09:00:00Z');
    await until(async () => (await h.call('list_messages', { with: ACE, direction: 'outbound' })).messages.find((m: any) => m.message_id === sixth.message_id && m.status === 'delivered'), 'the 6th SMS to go');

    // Busy, then answers: two attempts of one call; the third call is the last that fits.
    const retried = await h.call('initiate_call', { to: '+15550100006', retry: { max_attempts: 2, interval_seconds: 0 } });
    expect((await finished(retried.call_id)).attempts).toHaveLength(2);
    expect((await h.call('initiate_call', { to: '+15550100006', mode: 'notify', message: 'Hi.' })).deferred).toBeNull();
    expect((await h.call('initiate_call', { to: '+15550100006', mode: 'notify', message: 'Hi.' })).deferred).toMatchObject({ code: 'daily_cap' });
  });
});

describe('owners', () => {
  const OWNER = '+12125550199';

  it('are exempt from calling hours and caps: a 6 am wake-up call to yourself goes at once', async () => {
    await start('2026-01-15T11:00:00Z', { SWITCHBOARD_OWNER_NUMBERS: OWNER, SWITCHBOARD_MAX_CALLS_PER_NUMBER_PER_DAY: '1', SWITCHBOARD_MAX_SMS_PER_NUMBER_PER_DAY: '1' }); // 06:00 in New York
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const wakeUp = await h.call('initiate_call', { to: OWNER, mode: 'notify', message: 'Good morning, time to get up.' });
      expect(wakeUp.deferred).toBeNull();
      ids.push(wakeUp.call_id);
      expect((await finished(wakeUp.call_id)).status).toBe('completed');
    }
    for (let i = 0; i < 2; i++) expect((await h.call('schedule_sms', { to: OWNER, body: 'Up yet?' })).deferred).toBeNull();
    // The same hour for anyone else in New York is too early.
    expect((await h.call('initiate_call', { to: NEW_YORK, mode: 'notify', message: 'Hi.' })).deferred).toMatchObject({ code: 'calling_hours' });
  });
});

describe('opt-out heard on a call', () => {
  const GRUMPY = '+15550100077';
  const OWNER = '+15550100078';

  function directory(): string {
    const path = join(tempDir(), 'people.json');
    const grumpy = { behavior: 'answer', ring_seconds: 1, facts: { price_per_square: 'none of your business. Please take me off your list' } };
    writeFileSync(path, JSON.stringify({ [GRUMPY]: { name: 'Grumpy', ...grumpy }, [OWNER]: { name: 'The owner', ...grumpy } }));
    return path;
  }
  const QUOTE = { type: 'object', properties: { price_per_square: { type: 'string' } } };

  it('a callee asking to be taken off the list goes on the do-not-contact list, the call ends and no more are placed', async () => {
    await start('2026-01-15T17:00:00Z', { SWITCHBOARD_CALLING_HOURS: 'off', SWITCHBOARD_SIM_DIRECTORY: directory() });
    const { call_id } = await h.call('initiate_call', { to: GRUMPY, insight_schema: QUOTE });
    const call = await finished(call_id);
    expect(call.transcript.some((t: any) => t.speaker === 'callee' && /take me off your list/.test(t.text))).toBe(true);
    expect(call).toMatchObject({ status: 'completed', error: { code: 'do_not_contact' } });
    const { entries } = await h.call('list_do_not_contact');
    expect(entries).toEqual([expect.objectContaining({ number: GRUMPY, source: 'call_opt_out', reason: expect.stringMatching(/take me off your list/) })]);
    expect(await h.fail('initiate_call', { to: GRUMPY })).toMatch(/do-not-contact list, so no call was placed/);
    expect(await h.fail('schedule_sms', { to: GRUMPY, body: 'Sorry!' })).toMatch(/do-not-contact list/);
  });

  it('an owner saying the same words is not blocked', async () => {
    await start('2026-01-15T17:00:00Z', { SWITCHBOARD_CALLING_HOURS: 'off', SWITCHBOARD_SIM_DIRECTORY: directory(), SWITCHBOARD_OWNER_NUMBERS: OWNER });
    const { call_id } = await h.call('initiate_call', { to: OWNER, insight_schema: QUOTE });
    expect((await finished(call_id)).status).toBe('completed');
    expect((await h.call('list_do_not_contact')).entries).toEqual([]);
  });

  it('the voice agent’s report with outcome opt_out adds the number', async () => {
    await start('2026-01-15T17:00:00Z', { SWITCHBOARD_CALLING_HOURS: 'off' });
    const to = '+15550100008';
    const { call_id } = await h.call('initiate_call', { to });
    await finished(call_id);
    expect((await h.call('list_do_not_contact')).entries).toEqual([]);
    // What the live voice agent's report_call delivers, through the same carrier-event path.
    const attempt = h.app.calls.records.currentAttempt(call_id)!;
    simCarrier(h.app).emit({
      type: 'call.report',
      providerCallId: attempt.provider_call_id!,
      callId: call_id,
      attempt: 1,
      report: { outcome: 'opt_out', summary: 'The callee asked not to be called again.', fields: {} },
      at: new Date().toISOString(),
    });
    const { entries } = await h.call('list_do_not_contact');
    expect(entries).toEqual([expect.objectContaining({ number: to, source: 'call_opt_out', reason: expect.stringMatching(/reported opt_out/) })]);
    expect((await h.call('get_call', { call_id })).outcome).toBe('opt_out');
    expect(await h.fail('initiate_call', { to })).toMatch(/do-not-contact list/);
  });
});
