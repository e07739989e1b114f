import { afterEach, describe, expect, it } from 'vitest';
import { simCarrier, startHarness, until, type Harness } from './helpers.js';

let h: Harness;
afterEach(() => h?.close());

const QUOTE = { type: 'object', properties: { price_per_square: { type: 'string' }, earliest_start: { type: 'string' } } };
const future = (ms: number) => new Date(Date.now() + ms).toISOString();

describe('missions that move themselves', () => {
  it('linked calls start and finish their steps, and the mission ends by itself', async () => {
    h = await startHarness();
    await h.call('create_mission', {
      name: 'Roofers',
      instructions: 'get quotes',
      insight_schema: QUOTE,
      steps: [
        { step_id: 'ace', description: 'Call Ace' },
        { step_id: 'busy-bee', description: 'Call Busy Bee' },
        { step_id: 'second-try', description: 'Call Second Try' },
      ],
    });
    const ids = [];
    ids.push((await h.call('initiate_call', { to: '+15550100001', mission_id: 'roofers', step_id: 'ace' })).call_id);
    ids.push((await h.call('initiate_call', { to: '+15550100002', mission_id: 'roofers', step_id: 'busy-bee' })).call_id);
    ids.push((await h.call('initiate_call', { to: '+15550100006', mission_id: 'roofers', step_id: 'second-try', retry: { max_attempts: 2, interval_seconds: 0 } })).call_id);
    const waited = await h.call('wait_for_calls', { mission_id: 'roofers', until: 'all', timeout_seconds: 10 });
    expect(waited.done).toBe(true);
    const m = await until(async () => {
      const m = await h.call('get_mission', { mission_id: 'roofers' });
      return m.status !== 'active' && m;
    }, 'mission end');
    expect(Object.fromEntries(m.steps.map((s: any) => [s.step_id, s.status]))).toEqual({ ace: 'completed', 'busy-bee': 'failed', 'second-try': 'completed' });
    expect(m.status).toBe('failed');
    expect(m.calls).toHaveLength(3);
    const auto = m.recent_events.filter((e: any) => e.source === 'switchboard').map((e: any) => e.summary);
    expect(auto).toContain('Step ace: pending → in_progress (linked work dispatched).');
    expect(auto).toContain('Step busy-bee: in_progress → failed (no linked call or message succeeded).');
    expect(auto.at(-1)).toMatch(/^Mission failed/);

    const insights = await h.call('get_insights', { mission_id: 'roofers' });
    expect(insights.rows).toHaveLength(3);
    expect(insights.rows.map((r: any) => r.fields.price_per_square ?? null)).toEqual(['$450', null, '$520']);
  });

  it('complete_mission cancels calls and SMS not yet dispatched', async () => {
    h = await startHarness();
    await h.call('create_mission', { name: 'Later', instructions: 'x', steps: [{ step_id: 'a', description: 'a' }] });
    const call = await h.call('initiate_call', { to: '+15550100001', mission_id: 'later', step_id: 'a', scheduled_at: future(60_000) });
    const sms = await h.call('schedule_sms', { to: '+15550100001', body: 'hi', mission_id: 'later', scheduled_at: future(60_000) });
    const m = await h.call('complete_mission', { mission_id: 'later', status: 'cancelled', summary: 'never mind' });
    expect(m.status).toBe('cancelled');
    expect((await h.call('get_call', { call_id: call.call_id })).status).toBe('canceled');
    expect((await h.call('list_messages', { mission_id: 'later' })).messages[0]).toMatchObject({ message_id: sms.message_id, status: 'canceled' });
    expect(await h.fail('initiate_call', { to: '+15550100001', mission_id: 'later' })).toMatch(/is cancelled; it takes no new calls/);
  });
});

describe('SMS on the simulated carrier', () => {
  it('sends, delivers, and threads the reply', async () => {
    h = await startHarness();
    const sent = await h.call('schedule_sms', { to: '+15550100001', body: 'Can you send a quote?' });
    expect(sent.created).toBe(true);
    expect(['queued', 'sent', 'delivered']).toContain(sent.status);
    expect(sent.message_id).toMatch(/^sms_/);
    const thread = await until(async () => {
      const t = (await h.call('list_messages', { with: '+15550100001' })).messages;
      return t.length === 2 && t;
    }, 'reply');
    expect(thread.map((m: any) => [m.direction, m.status])).toEqual([
      ['inbound', 'received'],
      ['outbound', 'delivered'],
    ]);
    expect(thread[0].body).toMatch(/Ace Roofing here/);
    expect((await h.call('list_messages', { direction: 'inbound' })).messages).toHaveLength(1);
  });

  it('an SMS to a failing number ends failed with the reason', async () => {
    h = await startHarness();
    const { message_id } = await h.call('schedule_sms', { to: '+15550100007', body: 'hello' });
    const m = await until(async () => (await h.call('list_messages', { with: '+15550100007' })).messages.find((x: any) => x.status === 'failed'), 'failure');
    expect(m).toMatchObject({ message_id, error: { code: 'sim_unreachable' } });
  });

  it('STOP puts the sender on the do-not-contact list, which blocks calls and SMS alike; START lifts it', async () => {
    h = await startHarness();
    simCarrier(h.app).receiveSms('+15550100012', '+15550100000', 'stop');
    const { entries } = await until(async () => {
      const r = await h.call('list_do_not_contact');
      return r.entries.length > 0 && r;
    }, 'opt-out');
    expect(entries[0]).toMatchObject({ number: '+15550100012', source: 'sms_stop' });
    expect(await h.fail('initiate_call', { to: '+15550100012' })).toMatch(/do-not-contact list, so no call was placed/);
    expect(await h.fail('schedule_sms', { to: '+15550100012', body: 'hi' })).toMatch(/do-not-contact list, so no message was sent/);
    expect((await h.call('list_calls')).calls).toEqual([]);
    expect((await h.call('list_messages', { direction: 'outbound' })).messages).toEqual([]);

    simCarrier(h.app).receiveSms('+15550100012', '+15550100000', 'START');
    await until(async () => (await h.call('list_do_not_contact')).entries.length === 0, 'opt-in');
  });

  it('manages the do-not-contact list by hand', async () => {
    h = await startHarness();
    expect(await h.call('add_do_not_contact', { number: '+15550100001', reason: 'asked us to stop' })).toMatchObject({ source: 'client' });
    expect((await h.call('list_do_not_contact')).entries).toHaveLength(1);
    expect(await h.call('remove_do_not_contact', { number: '+15550100001' })).toEqual({ number: '+15550100001', removed: true });
    expect(await h.fail('add_do_not_contact', { number: '12345' })).toMatch(/E.164/);
  });
});
