import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, until, type Harness } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(() => h.close());

const steps = [
  { step_id: 'call-ace', description: 'Call Ace Roofing' },
  { step_id: 'compare', description: 'Compare quotes' },
];

describe('missions through MCP', () => {
  it('creates a mission with unique slugs and returns the same one for the same idempotency key', async () => {
    const a = await h.call('create_mission', { name: 'Find Roofers', instructions: 'get quotes', steps });
    expect(a).toMatchObject({ slug: 'find-roofers', status: 'active', created: true });
    expect(a.mission_id).toMatch(/^msn_/);
    expect(a.steps.map((s: any) => s.status)).toEqual(['pending', 'pending']);
    const b = await h.call('create_mission', { name: 'find roofers!', instructions: 'again' });
    expect(b.slug).toBe('find-roofers-2');
    const c = await h.call('create_mission', { name: 'Find Roofers', instructions: 'x', idempotency_key: 'k1' });
    const d = await h.call('create_mission', { name: 'Something else', instructions: 'y', idempotency_key: 'k1' });
    expect(c.slug).toBe('find-roofers-3');
    expect(d).toMatchObject({ mission_id: c.mission_id, created: false });
  });

  it('gets a mission by id or slug and lists by status', async () => {
    const m = await h.call('create_mission', { name: 'Plumber', instructions: 'x', steps });
    const byId = await h.call('get_mission', { mission_id: m.mission_id });
    const bySlug = await h.call('get_mission', { mission_id: 'plumber' });
    expect(bySlug.mission_id).toBe(byId.mission_id);
    expect(byId.recent_events[0].type).toBe('mission_created');
    await h.call('create_mission', { name: 'Other', instructions: 'x' });
    await h.call('complete_mission', { mission_id: 'other', status: 'cancelled', summary: 'not needed' });
    expect((await h.call('list_missions', {})).missions).toHaveLength(2);
    const active = await h.call('list_missions', { status: 'active' });
    expect(active.missions.map((x: any) => x.slug)).toEqual(['plumber']);
    expect(active.missions[0]).toMatchObject({ steps_total: 2, steps_open: 2 });
  });

  it('moves steps by the transition table and ends the mission by itself', async () => {
    const m = await h.call('create_mission', { name: 'Roof', instructions: 'x', steps });
    await h.call('update_step', { mission_id: 'roof', step_id: 'call-ace', status: 'in_progress' });
    const done = await h.call('update_step', { mission_id: 'roof', step_id: 'call-ace', status: 'completed', note: 'quoted $450' });
    expect(done).toMatchObject({ step: { status: 'completed', note: 'quoted $450' }, mission_status: 'active' });
    const last = await h.call('update_step', { mission_id: m.mission_id, step_id: 'compare', status: 'skipped' });
    expect(last.mission_status).toBe('succeeded');
    const events = (await h.call('get_mission', { mission_id: 'roof' })).recent_events.map((e: any) => e.type);
    expect(events).toEqual(['mission_created', 'step_status', 'step_status', 'step_status', 'mission_ended']);
  });

  it('fails the mission when a step failed', async () => {
    await h.call('create_mission', { name: 'Roof', instructions: 'x', steps: [steps[0]] });
    await h.call('update_step', { mission_id: 'roof', step_id: 'call-ace', status: 'in_progress' });
    const r = await h.call('update_step', { mission_id: 'roof', step_id: 'call-ace', status: 'failed' });
    expect(r.mission_status).toBe('failed');
  });

  it('refuses illegal input with a sentence that says what to do, and stays up', async () => {
    expect(await h.fail('create_mission', { name: '  ', instructions: 'x' })).toMatch(/`name` must not be empty/);
    expect(await h.fail('create_mission', { name: 'a', instructions: 'x', steps: [steps[0], steps[0]] })).toMatch(/appears twice/);
    expect(await h.fail('create_mission', { name: 'a', instructions: 'x', insight_schema: { type: 'object' } })).toMatch(/non-empty `properties`/);
    expect(await h.fail('get_mission', { mission_id: 'nope' })).toMatch(/No mission has id or slug "nope"/);
    await h.call('create_mission', { name: 'Roof', instructions: 'x', steps });
    expect(await h.fail('update_step', { mission_id: 'roof', step_id: 'call-ace', status: 'completed' })).toMatch(
      /cannot move from pending to completed: from pending it may only move to in_progress or skipped/,
    );
    expect(await h.fail('update_step', { mission_id: 'roof', step_id: 'nope', status: 'skipped' })).toMatch(/no step "nope"; its steps are call-ace, compare/);
    expect(await h.fail('update_step', { mission_id: 'roof', step_id: 'call-ace', status: 'done' })).toMatch(/Input validation error/);
    expect(await h.fail('complete_mission', { mission_id: 'roof', status: 'succeeded', summary: 'ok' })).toMatch(/still has open steps \(call-ace, compare\)/);
    expect(await h.fail('log_event', { mission_id: 'roof', type: '', summary: 'x' })).toMatch(/`type` must not be empty/);
    expect(await h.fail('save_memory', { mission_id: 'roof', key: 'k' })).toMatch(/at value/);
    // Still serving.
    expect((await h.call('get_mission', { mission_id: 'roof' })).status).toBe('active');
  });

  it('completes early as cancelled, skipping open steps, and then refuses changes', async () => {
    await h.call('create_mission', { name: 'Roof', instructions: 'x', steps });
    const m = await h.call('complete_mission', { mission_id: 'roof', status: 'cancelled', summary: 'user changed mind', result: { reason: 'budget' } });
    expect(m).toMatchObject({ status: 'cancelled', summary: 'user changed mind', result: { reason: 'budget' } });
    expect(m.steps.map((s: any) => s.status)).toEqual(['skipped', 'skipped']);
    expect(await h.fail('update_step', { mission_id: 'roof', step_id: 'call-ace', status: 'in_progress' })).toMatch(/cannot move from skipped|is cancelled/);
    expect(await h.fail('complete_mission', { mission_id: 'roof', status: 'failed', summary: 'x' })).toMatch(/cancelled is final/);
  });

  it('logs events and keeps memory with set and append', async () => {
    await h.call('create_mission', { name: 'Roof', instructions: 'x', steps });
    const { event } = await h.call('log_event', { mission_id: 'roof', type: 'quote_received', summary: 'Ace: $450', step_id: 'call-ace', payload: { price: 450 } });
    expect(event).toMatchObject({ type: 'quote_received', step_id: 'call-ace', payload: { price: 450 }, source: 'client' });
    await h.call('save_memory', { mission_id: 'roof', key: 'budget', value: { max: 9000 } });
    await h.call('save_memory', { mission_id: 'roof', key: 'quotes', value: 'ace', mode: 'append' });
    const q = await h.call('save_memory', { mission_id: 'roof', key: 'quotes', value: 'peak', mode: 'append' });
    expect(q.value).toEqual(['ace', 'peak']);
    const m = await h.call('get_mission', { mission_id: 'roof' });
    expect(m.memory).toEqual({ budget: { max: 9000 }, quotes: ['ace', 'peak'] });
  });

  it('creates, updates and lists assistants', async () => {
    const a = await h.call('create_assistant', { name: 'Quoter', instructions: 'Ask for a quote', amd: 'voicemail', voicemail_message: 'call back' });
    expect(a.assistant_id).toMatch(/^asst_/);
    const u = await h.call('update_assistant', { assistant_id: a.assistant_id, greeting: 'Hi there' });
    expect(u).toMatchObject({ name: 'Quoter', greeting: 'Hi there', amd: 'voicemail' });
    expect((await h.call('list_assistants')).assistants).toHaveLength(1);
    expect(await h.fail('update_assistant', { assistant_id: 'asst_nope', name: 'x' })).toMatch(/No assistant has id/);
    expect(await h.fail('update_assistant', { assistant_id: a.assistant_id })).toMatch(/Nothing to update/);
    expect(await h.fail('create_assistant', { name: 'x', instructions: ' ' })).toMatch(/`instructions` must not be empty/);
  });

  it('serves the mission resource, completes ids and notifies subscribers of every change', async () => {
    const m = await h.call('create_mission', { name: 'Roof', instructions: 'x', steps });
    const uri = `switchboard://missions/${m.mission_id}`;
    const listed = await h.client.listResources();
    expect(listed.resources.map((r) => r.uri)).toContain(uri);
    const read = await h.client.readResource({ uri: 'switchboard://missions/roof' });
    expect(JSON.parse((read.contents[0] as { text: string }).text).mission_id).toBe(m.mission_id);
    const completion = await h.client.complete({ ref: { type: 'ref/resource', uri: 'switchboard://missions/{mission_id}' }, argument: { name: 'mission_id', value: 'ro' } });
    expect(completion.completion.values).toEqual(['roof']);

    const updatesOf = (u: string) => h.updates.filter((x) => x === u).length;
    await h.client.subscribeResource({ uri });
    await h.call('save_memory', { mission_id: 'roof', key: 'k', value: 1 });
    await h.call('update_step', { mission_id: 'roof', step_id: 'call-ace', status: 'skipped' });
    await until(() => updatesOf(uri) === 2, 'an update for each change');

    // Updates arrive in order, so once a later change to another mission is heard, an update for roof would have been too.
    const other = await h.call('create_mission', { name: 'Other', instructions: 'x' });
    const otherUri = `switchboard://missions/${other.mission_id}`;
    await h.client.subscribeResource({ uri: otherUri });
    await h.client.unsubscribeResource({ uri });
    await h.call('log_event', { mission_id: 'roof', type: 'note', summary: 'x' });
    await h.call('log_event', { mission_id: 'other', type: 'note', summary: 'x' });
    await until(() => updatesOf(otherUri) === 1, 'the update for the other mission');
    expect(updatesOf(uri)).toBe(2);
  });
});
