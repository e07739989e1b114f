import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, tempDir, until, type Harness } from './helpers.js';

let h: Harness;
afterEach(() => h?.close());

const QUOTE = {
  type: 'object',
  properties: { price_per_square: { type: 'string' }, earliest_start: { type: 'string' }, warranty_years: { type: 'string' } },
};

async function finished(id: string) {
  const r = await h.call('wait_for_calls', { call_ids: [id], timeout_seconds: 10 });
  expect(r.done).toBe(true);
  return h.call('get_call', { call_id: id });
}

describe('calls on the simulated carrier, through MCP', () => {
  it('an answered agent call discloses AI, asks one question per field and reports what it heard', async () => {
    h = await startHarness();
    const placed = await h.call('initiate_call', { to: '+15550100001', insight_schema: QUOTE, message: 'I am collecting roofing quotes.' });
    // Placed now: it answers once the carrier has the call.
    expect(placed).toMatchObject({ created: true, attempts: [{ attempt: 1 }] });
    expect(placed.call_id).toMatch(/^call_/);
    const call = await finished(placed.call_id);
    expect(call).toMatchObject({ status: 'completed', attempts: [{ attempt: 1, status: 'completed' }] });
    const agent = call.transcript.filter((t: any) => t.speaker === 'agent').map((t: any) => t.text);
    expect(agent[0]).toMatch(/AI assistant/);
    expect(agent.filter((t: string) => t.endsWith('?'))).toHaveLength(3);
    expect(call.fields).toEqual({ price_per_square: '$450', earliest_start: 'next Monday', warranty_years: '10 years' });
    const insight = await h.call('get_insights', { call_id: placed.call_id });
    expect(insight).toMatchObject({ scope: 'call', status: 'ready', outcome: 'all_fields_collected', source: 'agent_report', fields: { price_per_square: '$450' } });
  });

  it('busy, no answer and a failed network each end with their own status and no report', async () => {
    h = await startHarness();
    const ids = await Promise.all(['+15550100002', '+15550100003', '+15550100007'].map(async (to) => (await h.call('initiate_call', { to })).call_id));
    const [busy, noAnswer, failed] = await Promise.all(ids.map(finished));
    expect(busy.status).toBe('busy');
    expect(noAnswer.status).toBe('no_answer');
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'sim_unreachable' } });
    expect(await h.call('get_insights', { call_id: ids[0] })).toMatchObject({ status: 'unavailable', outcome: 'busy' });
  });

  it('voicemail: detected as a machine, leaves the message after the tone', async () => {
    h = await startHarness();
    const { call_id } = await h.call('initiate_call', { to: '+15550100004', amd: 'voicemail', voicemail_message: 'Please call back about the roof.' });
    const call = await finished(call_id);
    expect(call).toMatchObject({ status: 'voicemail', answered_by: 'machine', outcome: 'voicemail_left' });
    const texts = call.transcript.map((t: any) => `${t.speaker}: ${t.text}`);
    expect(texts[0]).toMatch(/^callee: .*leave a message after the tone/);
    expect(texts[1]).toMatch(/^agent: .*Please call back about the roof\./);
  });

  it('IVR: presses the digit the menu offers for a person, then talks to them', async () => {
    h = await startHarness();
    const { call_id } = await h.call('initiate_call', { to: '+15550100005', insight_schema: QUOTE });
    const call = await finished(call_id);
    expect(call.transcript.map((t: any) => t.text)).toContain('(pressed 0)');
    expect(call.fields.price_per_square).toBe('$395');
  });

  it('notify mode speaks the message and hangs up', async () => {
    h = await startHarness();
    const { call_id } = await h.call('initiate_call', { to: '+15550100008', mode: 'notify', message: 'Your roof inspection is tomorrow at 9.' });
    const call = await finished(call_id);
    expect(call.status).toBe('completed');
    expect(call.outcome).toBe('notified');
    expect(call.transcript.some((t: any) => t.speaker === 'agent' && t.text.includes('Your roof inspection is tomorrow at 9.'))).toBe(true);
  });

  it('retries a busy line as attempts of one call until it answers', async () => {
    h = await startHarness();
    const { call_id } = await h.call('initiate_call', { to: '+15550100006', retry: { max_attempts: 3, interval_seconds: 0 }, insight_schema: QUOTE });
    const call = await finished(call_id);
    expect(call.status).toBe('completed');
    expect(call.attempts.map((a: any) => a.status)).toEqual(['busy', 'completed']);
    expect(call.fields.price_per_square).toBe('$520');
  });

  it('stops retrying at max_attempts and ends with the last outcome', async () => {
    h = await startHarness();
    const { call_id } = await h.call('initiate_call', { to: '+15550100002', retry: { max_attempts: 3, interval_seconds: 0 } });
    const call = await finished(call_id);
    expect(call.status).toBe('busy');
    expect(call.attempts.map((a: any) => a.status)).toEqual(['busy', 'busy', 'busy']);
  });

  it('does not retry outcomes left out of retry.on', async () => {
    h = await startHarness();
    const { call_id } = await h.call('initiate_call', { to: '+15550100002', retry: { max_attempts: 3, interval_seconds: 0, on: ['no_answer'] } });
    expect((await finished(call_id)).attempts).toHaveLength(1);
  });

  it('an unknown number answers with no facts: the agent reports it heard nothing', async () => {
    h = await startHarness();
    const { call_id } = await h.call('initiate_call', { to: '+14155550199', insight_schema: QUOTE });
    const call = await finished(call_id);
    expect(call).toMatchObject({ status: 'completed', outcome: 'no_fields_collected', fields: { price_per_square: null } });
  });

  it('uses a directory file from SWITCHBOARD_SIM_DIRECTORY', async () => {
    const file = join(tempDir(), 'people.json');
    writeFileSync(file, JSON.stringify({ '+15550109999': { name: 'Bob', behavior: 'answer', ring_seconds: 1, facts: { favorite_color: 'green' } } }));
    h = await startHarness({ SWITCHBOARD_SIM_DIRECTORY: file });
    const { call_id } = await h.call('initiate_call', { to: '+15550109999', insight_schema: { type: 'object', properties: { favorite_color: { type: 'string' } } } });
    expect((await finished(call_id)).fields).toEqual({ favorite_color: 'green' });
  });

  it('cuts a call off at SWITCHBOARD_MAX_CALL_SECONDS and reports what was heard until then', async () => {
    const scale = 0.1;
    const limitMs = 10 * 1000 * scale;
    const file = join(tempDir(), 'people.json');
    const story = 'and there is a long story behind that number which I would be glad to tell you all about';
    const facts = { price_per_square: `$450, ${story}`, earliest_start: `next Monday, ${story}`, warranty_years: `10 years, ${story}` };
    writeFileSync(file, JSON.stringify({ '+15550109998': { name: 'Chatty Roofing', ring_seconds: 1, facts } }));
    h = await startHarness({ SWITCHBOARD_SIM_DIRECTORY: file, SWITCHBOARD_SIM_TIME_SCALE: String(scale), SWITCHBOARD_MAX_CALL_SECONDS: '10' });

    const { call_id } = await h.call('initiate_call', { to: '+15550109998', insight_schema: QUOTE });
    const call = await finished(call_id);
    expect(call).toMatchObject({ status: 'completed', attempts: [{ status: 'completed', hangup_cause: 'max_duration' }] });
    expect(['no_fields_collected', 'some_fields_collected']).toContain(call.outcome);
    expect(call.fields.warranty_years).toBeNull();
    expect(call.transcript.at(-1).text).not.toMatch(/Goodbye/);
    const talkedMs = Date.parse(call.attempts[0].ended_at) - Date.parse(call.attempts[0].answered_at);
    // Timers run on the monotonic clock and the stored times are wall-clock milliseconds: they may differ by one.
    expect(talkedMs).toBeGreaterThanOrEqual(limitMs - 2);
    expect(talkedMs).toBeLessThan(1.5 * limitMs);
  });

  it('refuses bad input with a clear sentence', async () => {
    h = await startHarness();
    expect(await h.fail('initiate_call', { to: '555-0100' })).toMatch(/`to` must be an E.164 phone number like \+15551234567/);
    expect(await h.fail('initiate_call', { to: '+15550100001', scheduled_at: '2020-01-01T00:00:00Z' })).toMatch(/is in the past/);
    expect(await h.fail('initiate_call', { to: '+15550100001', scheduled_at: 'tomorrow' })).toMatch(/ISO 8601 time with a zone/);
    expect(await h.fail('initiate_call', { to: '+15550100001', assistant_id: 'asst_missing' })).toMatch(/No assistant has id "asst_missing"/);
    expect(await h.fail('initiate_call', { to: '+15550100001', retry: { max_attempts: 0, interval_seconds: 5 } })).toMatch(/`retry.max_attempts` must be a whole number from 1 to 10/);
    expect(await h.fail('initiate_call', { to: '+15550100001', retry: { max_attempts: 11, interval_seconds: 5 } })).toMatch(/from 1 to 10/);
    expect(await h.fail('initiate_call', { to: '+15550100001', mode: 'notify' })).toMatch(/needs a `message`/);
    expect(await h.fail('initiate_call', { to: '+15550100001', mission_id: 'nope' })).toMatch(/No mission/);
    expect(await h.fail('get_call', { call_id: 'call_nope' })).toMatch(/No call has id "call_nope"/);
    expect(await h.fail('schedule_sms', { to: '+15550100001', body: '' })).toMatch(/`body` must not be empty/);
    expect(await h.fail('wait_for_calls', {})).toMatch(/exactly one of `call_ids` or `mission_id`/);
    expect(await h.fail('wait_for_calls', { call_ids: ['x'], timeout_seconds: 120 })).toMatch(/Input validation error/);
  });

  it('a scheduled call waits for its time; end_call cancels it', async () => {
    h = await startHarness();
    const at = new Date(Date.now() + 60_000).toISOString();
    const { call_id, scheduled_at } = await h.call('initiate_call', { to: '+15550100001', scheduled_at: at });
    expect(scheduled_at).toBe(at);
    const ended = await h.call('end_call', { call_id });
    expect(ended).toMatchObject({ status: 'canceled', error: { code: 'ended_by_client' } });
    expect((await h.call('end_call', { call_id })).status).toBe('canceled');
  });

  it('end_call hangs up a live call', async () => {
    h = await startHarness({ SWITCHBOARD_SIM_TIME_SCALE: '0.05' });
    const { call_id } = await h.call('initiate_call', { to: '+15550100001', insight_schema: QUOTE });
    await until(async () => (await h.call('get_call', { call_id })).status === 'in_progress', 'call answered');
    await h.call('end_call', { call_id });
    const call = await finished(call_id);
    expect(call.status).toBe('completed');
    expect(call.attempts[0].hangup_cause).toBe('hangup_by_switchboard');
  });

  it('same idempotency_key → the same call, dialed once', async () => {
    h = await startHarness();
    const a = await h.call('initiate_call', { to: '+15550100001', idempotency_key: 'abc' });
    const b = await h.call('initiate_call', { to: '+15550100001', idempotency_key: 'abc' });
    expect(b).toMatchObject({ call_id: a.call_id, created: false });
    await finished(a.call_id);
    expect((await h.call('list_calls', {})).calls).toHaveLength(1);
  });

  it('never has more live calls than SWITCHBOARD_MAX_CONCURRENT_CALLS; the rest wait queued', async () => {
    h = await startHarness({ SWITCHBOARD_MAX_CONCURRENT_CALLS: '2', SWITCHBOARD_SIM_TIME_SCALE: '0.02' });
    let peak = 0;
    const stop = h.app.changes.subscribe(() => (peak = Math.max(peak, h.app.calls.liveCount())));
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await h.call('initiate_call', { to: '+15550100001', mode: 'notify', message: 'hi' })).call_id);
    await until(async () => (await h.call('list_calls', { status: 'queued' })).calls.length > 0, 'a queued call');
    const r = await h.call('wait_for_calls', { call_ids: ids, until: 'all', timeout_seconds: 20 });
    stop();
    expect(r.done).toBe(true);
    expect(r.calls.every((c: any) => c.status === 'completed')).toBe(true);
    expect(peak).toBe(2);
  });

  it('spaces call starts by SWITCHBOARD_MIN_CALL_SPACING_MS', async () => {
    h = await startHarness({ SWITCHBOARD_MIN_CALL_SPACING_MS: '150' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await h.call('initiate_call', { to: '+15550100002' })).call_id);
    await h.call('wait_for_calls', { call_ids: ids, until: 'all', timeout_seconds: 10 });
    const starts = (await Promise.all(ids.map((id) => h.call('get_call', { call_id: id })))).map((c: any) => Date.parse(c.attempts[0].started_at)).sort();
    expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(145);
    expect(starts[2] - starts[1]).toBeGreaterThanOrEqual(145);
  });

  it('wait_for_calls returns at its timeout with the current state', async () => {
    h = await startHarness({ SWITCHBOARD_SIM_TIME_SCALE: '1' });
    const { call_id } = await h.call('initiate_call', { to: '+15550100003' });
    const res = await h.call('wait_for_calls', { call_ids: [call_id], timeout_seconds: 0.3 });
    expect(res).toMatchObject({ done: false, timed_out: true, calls: [{ call_id, status: 'ringing' }] });
  });

  it('wait_for_calls reports progress each time another call finishes', async () => {
    h = await startHarness();
    const later = new Date(Date.now() + 60_000).toISOString();
    const [first, second] = await Promise.all([1, 2].map(async () => (await h.call('initiate_call', { to: '+15550100001', scheduled_at: later })).call_id));
    const progress: { progress: number; total?: number; message?: string }[] = [];
    const waiting = h.client.callTool({ name: 'wait_for_calls', arguments: { call_ids: [first, second], until: 'all', timeout_seconds: 20 } }, undefined, {
      onprogress: ({ progress: done, total, message }) => void progress.push({ progress: done, total, message }),
    });
    await until(() => progress.length === 1, 'the first progress report');
    expect(progress).toEqual([{ progress: 0, total: 2, message: '0 of 2 call(s) finished' }]);

    await h.call('end_call', { call_id: first });
    // Well inside the 5 s heartbeat, so this report is the one the finished call caused.
    await until(() => progress.length === 2, 'progress after the first call ended', 2_000);
    expect(progress[1]).toEqual({ progress: 1, total: 2, message: '1 of 2 call(s) finished' });

    await h.call('end_call', { call_id: second });
    expect((await waiting).structuredContent).toMatchObject({ done: true, timed_out: false });
  });

  it('publishes call and transcript resources with subscribe updates', async () => {
    h = await startHarness({ SWITCHBOARD_SIM_TIME_SCALE: '0.01' });
    // Scheduled a moment ahead, so the subscriptions are in place before its first change.
    const { call_id } = await h.call('initiate_call', { to: '+15550100001', insight_schema: QUOTE, scheduled_at: new Date(Date.now() + 500).toISOString() });
    const callUri = `switchboard://calls/${call_id}`;
    const transcriptUri = `${callUri}/transcript`;
    await h.client.subscribeResource({ uri: callUri });
    await h.client.subscribeResource({ uri: transcriptUri });
    const { transcript } = await finished(call_id);
    expect(transcript.length).toBeGreaterThanOrEqual(8);
    const updatesOf = (uri: string) => h.updates.filter((u) => u === uri).length;
    await until(() => updatesOf(transcriptUri) === transcript.length, 'one transcript update per turn');
    // The call changed with every turn and with every status it passed through.
    expect(updatesOf(callUri)).toBeGreaterThan(transcript.length);
    const read = await h.client.readResource({ uri: transcriptUri });
    expect(JSON.parse((read.contents[0] as { text: string }).text).transcript).toEqual(transcript);
    const templates = await h.client.listResourceTemplates();
    expect(templates.resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual(
      ['switchboard://calls/{call_id}', 'switchboard://calls/{call_id}/transcript', 'switchboard://missions/{mission_id}'].sort(),
    );
  });
});
