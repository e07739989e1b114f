import { describe, expect, it } from 'vitest';
import { testEnv, until } from './helpers.js';
import { enginePid, spawnServer } from './spawn.js';

describe('a crash loses nothing and dials nothing twice', () => {
  it('kill -9 with calls live and scheduled: after restart scheduled ones fire once, live ones end failed', async () => {
    const env = testEnv({ SWITCHBOARD_SIM_TIME_SCALE: '0.2', SWITCHBOARD_LOG_LEVEL: 'silent' });
    const first = await spawnServer(env);
    const live = (await first.call('initiate_call', { to: '+15550100001', insight_schema: { type: 'object', properties: { price_per_square: {} } } })).call_id;
    const later: string[] = [];
    // Far enough ahead that a slow start (a face starting its engine on a busy machine) cannot reach it.
    const due = Date.now() + 3000;
    for (let i = 0; i < 5; i++) {
      const at = new Date(due + i * 100).toISOString();
      later.push((await first.call('initiate_call', { to: '+15550100008', mode: 'notify', message: `reminder ${i}`, scheduled_at: at })).call_id);
    }
    const sms = (await first.call('schedule_sms', { to: '+15550100009', body: 'see you at 4', scheduled_at: new Date(due).toISOString() })).message_id;
    await until(async () => (await first.call('get_call', { call_id: live })).status === 'in_progress', 'the live call to be answered');
    expect((await first.call('list_calls', { status: 'scheduled' })).calls).toHaveLength(later.length);
    // The process that runs the calls dies: the embedded server, or the engine behind the face.
    process.kill(enginePid(env.SWITCHBOARD_DATA_DIR)!, 'SIGKILL');
    await first.close().catch(() => undefined);

    // Down until all the scheduled work is overdue.
    await until(() => Date.now() > due + later.length * 100, 'the scheduled work to be overdue');
    const second = await spawnServer(env);
    try {
      const interrupted = await second.call('get_call', { call_id: live });
      expect(interrupted).toMatchObject({ status: 'failed', error: { code: 'interrupted' } });
      expect(interrupted.attempts).toHaveLength(1);
      const waited = await second.call('wait_for_calls', { call_ids: later, until: 'all', timeout_seconds: 20 });
      expect(waited.done).toBe(true);
      for (const id of later) {
        const call = await second.call('get_call', { call_id: id });
        expect(call.status).toBe('completed');
        expect(call.attempts).toHaveLength(1);
      }
      const messages = await until(async () => {
        const { messages } = await second.call('list_messages', { with: '+15550100009', direction: 'outbound' });
        return messages[0]?.status === 'delivered' && messages;
      }, 'the scheduled SMS to be delivered');
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatchObject({ message_id: sms, status: 'delivered' });
    } finally {
      await second.close();
    }
  });
});
