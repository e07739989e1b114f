import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.close());

describe('input that is too big', () => {
  it('refuses oversized mission fields, memory values and results with a sentence that gives the size', async () => {
    h = await startHarness();
    expect(await h.fail('create_mission', { name: 'n'.repeat(201), instructions: 'x' })).toMatch(/`name` is 201 characters; at most 200/);
    expect(await h.fail('create_mission', { name: 'Big', instructions: 'i'.repeat(20_001) })).toMatch(/`instructions` is 20,001 characters; at most 20,000/);
    const { mission_id } = await h.call('create_mission', { name: 'Quotes', instructions: 'compare roofers' });
    expect(await h.fail('save_memory', { mission_id, key: 'notes', value: 'v'.repeat(70_000) })).toMatch(/`value` is 70,002 bytes as JSON; at most 65,536/);
    expect(await h.fail('log_event', { mission_id, type: 'note', summary: 's', payload: { blob: 'p'.repeat(70_000) } })).toMatch(/`payload` is .* bytes as JSON; at most 65,536/);
    expect(await h.fail('initiate_call', { to: '+15550100001', metadata: { blob: 'm'.repeat(17_000) } })).toMatch(/`metadata` is .* bytes as JSON; at most 16,384/);
    expect(await h.fail('complete_mission', { mission_id, status: 'failed', summary: 'done', result: { table: 'r'.repeat(300_000) } })).toMatch(/`result` is .* bytes/);

    // Appending cannot grow a memory entry past the cap either.
    for (let i = 0; i < 3; i++) await h.call('save_memory', { mission_id, key: 'quotes', value: 'q'.repeat(20_000), mode: 'append' });
    expect(await h.fail('save_memory', { mission_id, key: 'quotes', value: 'q'.repeat(20_000), mode: 'append' })).toMatch(/appending would make memory `quotes` larger than 65,536 bytes/);
    expect((await h.call('get_mission', { mission_id })).memory.quotes).toHaveLength(3);
  });
});

describe('wait_for_calls', () => {
  it('answers at once for a mission with no calls instead of waiting out its timeout', async () => {
    h = await startHarness();
    const { mission_id } = await h.call('create_mission', { name: 'Empty', instructions: 'nothing placed yet' });
    const started = Date.now();
    expect(await h.call('wait_for_calls', { mission_id, timeout_seconds: 30 })).toEqual({ done: true, timed_out: false, calls: [] });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
