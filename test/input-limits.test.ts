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

describe('JSON from the client', () => {
  it('keeps keys named __proto__ in metadata, payloads, memory and results, as plain data', async () => {
    h = await startHarness();
    // JSON.parse makes __proto__ an own key, as a client's JSON-RPC frame does.
    const withProto = () => JSON.parse('{"__proto__": {"polluted": true}, "kept": 1}');
    const call = await h.call('initiate_call', { to: '+15550100001', metadata: withProto() });
    expect(Object.keys(call.metadata)).toEqual(['__proto__', 'kept']);
    expect(Object.keys((await h.call('get_call', { call_id: call.call_id })).metadata)).toEqual(['__proto__', 'kept']);

    const { mission_id } = await h.call('create_mission', { name: 'Proto', instructions: 'keep odd keys' });
    const { event } = await h.call('log_event', { mission_id, type: 'note', summary: 'odd keys', payload: withProto() });
    expect(Object.keys(event.payload)).toEqual(['__proto__', 'kept']);
    await h.call('save_memory', { mission_id, key: 'odd', value: withProto() });
    expect(Object.keys((await h.call('get_mission', { mission_id })).memory.odd)).toEqual(['__proto__', 'kept']);
    const done = await h.call('complete_mission', { mission_id, status: 'cancelled', summary: 'done', result: withProto() });
    expect(Object.keys(done.result)).toEqual(['__proto__', 'kept']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('still refuses metadata that is not an object', async () => {
    h = await startHarness();
    const res = await h.client.callTool({ name: 'initiate_call', arguments: { to: '+15550100001', metadata: ['a', 'list'] } });
    expect(res.isError).toBe(true);
    expect((res.content as { text: string }[])[0].text).toMatch(/must be a JSON object at metadata/);
  });
});
