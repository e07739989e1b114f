import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, testEnv, until } from './helpers.js';
import { enginePid, spawnServer } from './spawn.js';

/**
 * A campaign across a `kill -9` of the process that runs it: after the restart every target is called exactly once
 * (nothing lost, nothing doubled), the campaign ends with its result, and a negotiation never has two calls at once.
 */
const PEOPLE = Object.fromEntries(
  Array.from({ length: 6 }, (_, i) => [
    `+155503100${String(i + 1).padStart(2, '0')}`,
    { name: `Roofer ${i + 1}`, behavior: 'answer', ring_seconds: 2, facts: { price_per_square: `$${400 + i * 10}` }, timezone: 'America/Chicago' },
  ]),
);
const NUMBERS = Object.keys(PEOPLE);
const QUOTE = { type: 'object', properties: { price_per_square: { type: 'string' } } };

function envWithPeople(extra: Record<string, string>) {
  const file = join(tempDir(), 'people.json');
  writeFileSync(file, JSON.stringify(PEOPLE));
  return testEnv({ SWITCHBOARD_SIM_DIRECTORY: file, SWITCHBOARD_SIM_TIME_SCALE: '0.2', ...extra });
}

async function killAndRestart(env: Record<string, string>, first: Awaited<ReturnType<typeof spawnServer>>) {
  process.kill(enginePid(env.SWITCHBOARD_DATA_DIR!)!, 'SIGKILL');
  await first.close().catch(() => undefined);
  return spawnServer(env);
}

/** The campaign once it has ended, and every call it made, in full. */
async function campaignEnd(server: Awaited<ReturnType<typeof spawnServer>>, missionId: string) {
  const done = await until(async () => {
    const mission = await server.call('get_mission', { mission_id: missionId });
    return mission.status !== 'active' && mission;
  }, 'the campaign to end', 30_000);
  const { calls } = await server.call('list_calls', { mission_id: missionId });
  return { done, calls: await Promise.all(calls.map((c: any) => server.call('get_call', { call_id: c.call_id }))) };
}

describe('a campaign across kill -9', () => {
  it('negotiation: after the restart it goes on one call at a time, each target called once, and ends with its result', async () => {
    const env = envWithPeople({ SWITCHBOARD_MAX_CONCURRENT_CALLS: '10' });
    const first = await spawnServer(env);
    const m = await first.call('create_mission', {
      name: 'Haggle',
      instructions: 'Get the best price per square.',
      insight_schema: QUOTE,
      class: 'negotiation',
      rubric: [{ field: 'price_per_square', weight: 1, prefer: 'lower' }],
      targets: NUMBERS.slice(0, 4).map((to) => ({ to, name: PEOPLE[to]!.name })),
    });
    // Killed while the second target is on the phone.
    await until(async () => {
      const calls = (await first.call('list_calls', { mission_id: m.mission_id })).calls;
      return calls.length === 2 && ['ringing', 'in_progress'].includes(calls.find((c: any) => c.to === NUMBERS[1]).status);
    }, 'the second call to be live', 20_000);
    const second = await killAndRestart(env, first);
    try {
      const { done, calls } = await campaignEnd(second, m.mission_id);
      // Each target once, in order, none of them twice.
      expect(calls.map((c: any) => c.to).sort()).toEqual(NUMBERS.slice(0, 4));
      expect(calls.every((c: any) => c.attempts.length === 1)).toBe(true);
      // The live one was interrupted by the crash; the campaign went on with the next.
      expect(calls.find((c: any) => c.to === NUMBERS[1])).toMatchObject({ status: 'failed', error: { code: 'interrupted' } });
      // Never two at once, before, across or after the restart.
      const spans = calls.map((c: any) => [c.attempts[0].started_at, c.attempts[0].ended_at]).sort();
      for (let i = 1; i < spans.length; i++) expect(spans[i][0] >= spans[i - 1][1]).toBe(true);
      expect(done.status).toBe('succeeded');
      expect(done.result.counts).toMatchObject({ targets: 4, called: 4, completed: 3, failed: 1 });
      expect(done.result.winner.to).toBe(NUMBERS[0]);
    } finally {
      await second.close();
    }
  });

  it('sweep: calls waiting for a line when it died are dialed once after the restart, and the result counts every target', async () => {
    const env = envWithPeople({ SWITCHBOARD_MAX_CONCURRENT_CALLS: '2' });
    const first = await spawnServer(env);
    const m = await first.call('create_mission', {
      name: 'Sweep',
      instructions: 'Ask the price per square.',
      insight_schema: QUOTE,
      targets: NUMBERS.map((to) => ({ to })),
      follow_up_sms: { completed: 'Thanks, we noted {price_per_square}.' },
    });
    await until(async () => (await first.call('list_calls', { mission_id: m.mission_id, status: 'in_progress' })).calls.length === 2, 'two calls live', 20_000);
    const second = await killAndRestart(env, first);
    try {
      const { done, calls } = await campaignEnd(second, m.mission_id);
      expect(calls.map((c: any) => c.to).sort()).toEqual(NUMBERS);
      expect(calls.every((c: any) => c.attempts.length === 1)).toBe(true);
      const interrupted = calls.filter((c: any) => c.error?.code === 'interrupted');
      expect(interrupted).toHaveLength(2);
      expect(done.result.counts).toMatchObject({ targets: 6, called: 6, completed: 4, failed: 2 });
      // One follow-up per completed call, none twice.
      const { messages } = await second.call('list_messages', { mission_id: m.mission_id });
      expect(messages.map((s: any) => s.to).sort()).toEqual(calls.filter((c: any) => c.status === 'completed').map((c: any) => c.to).sort());
    } finally {
      await second.close();
    }
  });
});
