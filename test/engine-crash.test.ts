import { afterEach, describe, expect, it } from 'vitest';
import { TelnyxEmulator } from './fakes/telnyx-emulator.js';
import { TwilioEmulator } from './fakes/twilio-emulator.js';
import { freePort, testEnv, until } from './helpers.js';
import { enginePid, spawnServer } from './spawn.js';

const OUR_NUMBER = '+12125550100';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const emulators: (TelnyxEmulator | TwilioEmulator)[] = [];
afterEach(async () => {
  for (const e of emulators.splice(0)) await e.close();
});

describe('an engine killed mid-call', () => {
  it('the next engine asks Telnyx about every call left live and ends each as it really ended', async () => {
    const telnyx = await TelnyxEmulator.start({ speakMs: 20 });
    emulators.push(telnyx);
    const env = testEnv({ SWITCHBOARD_ENGINE: 'auto', SWITCHBOARD_LOG_LEVEL: 'warn', ...telnyx.switchboardEnv(await freePort(), OUR_NUMBER) });
    const talked = '+12125550161';
    const ringingOn = '+12125550162';
    telnyx.scriptCall(talked, 'manual');
    telnyx.scriptCall(ringingOn, 'manual');

    const face = await spawnServer(env);
    const status = async (callId: string) => (await face.call('get_call', { call_id: callId })).status;
    const first = (await face.call('initiate_call', { to: talked, mode: 'notify', message: 'Your table is ready.', amd: 'detect' })).call_id;
    const second = (await face.call('initiate_call', { to: ringingOn, mode: 'notify', message: 'Your table is ready.' })).call_id;
    await until(async () => (await status(first)) === 'ringing' && (await status(second)) === 'ringing', 'both calls to ring');
    await telnyx.emitCallEvent(telnyx.callTo(talked), 'call.answered'); // it waits for the machine detection
    await until(async () => (await status(first)) === 'in_progress', 'the first call to be answered');

    process.kill(enginePid(env.SWITCHBOARD_DATA_DIR)!, 'SIGKILL');
    await face.close();
    telnyx.endUnheard(telnyx.callTo(talked)); // it talked and hung up while no engine ran

    const next = await spawnServer(env);
    try {
      expect(await next.call('get_call', { call_id: first })).toMatchObject({ status: 'completed', attempts: [{ status: 'completed' }] });
      expect(await next.call('get_call', { call_id: second })).toMatchObject({ status: 'ringing' });
      expect(await telnyx.emitCallEvent(telnyx.callTo(ringingOn), 'call.hangup', { hangup_cause: 'user_busy', sip_hangup_cause: '486' })).toBe(200);
      expect(await next.call('wait_for_calls', { call_ids: [second], timeout_seconds: 10 })).toMatchObject({ done: true });
      expect(await next.call('get_call', { call_id: second })).toMatchObject({ status: 'busy' });
    } finally {
      await next.close();
    }
  });

  it('the next engine asks Twilio about every call left live, ends each as it really ended, and only then dials', async () => {
    const talked = '+12125550171';
    const ringingOn = '+12125550172';
    const dueMeanwhile = '+12125550173';
    const twilio = await new TwilioEmulator(`AC${'ef'.repeat(16)}`, '0123456789abcdef0123456789abcdef', { [talked]: { outcome: 'manual' }, [ringingOn]: { outcome: 'manual' } }).start();
    emulators.push(twilio);
    const env = testEnv({ SWITCHBOARD_ENGINE: 'auto', SWITCHBOARD_LOG_LEVEL: 'warn', ...twilio.switchboardEnv(await freePort(), OUR_NUMBER) });
    const atTwilio = (to: string) => [...twilio.calls.values()].find((c) => c.to === to);
    const notify = (to: string, extra: Record<string, unknown> = {}) => ({ to, mode: 'notify', message: 'Your table is ready.', ...extra });

    const face = await spawnServer(env);
    const status = async (callId: string) => (await face.call('get_call', { call_id: callId })).status;
    const first = (await face.call('initiate_call', notify(talked))).call_id;
    const second = (await face.call('initiate_call', notify(ringingOn))).call_id;
    await until(async () => (await status(first)) === 'ringing' && (await status(second)) === 'ringing', 'both calls to ring');
    await twilio.setStatus(atTwilio(talked)!.sid, 'in-progress');
    await until(async () => (await status(first)) === 'in_progress', 'the first call to be answered');
    // Due while no engine runs: the next engine may dial it only once it has caught up with the two calls above.
    const third = (await face.call('initiate_call', notify(dueMeanwhile, { scheduled_at: new Date(Date.now() + 1_500).toISOString() }))).call_id;

    process.kill(enginePid(env.SWITCHBOARD_DATA_DIR)!, 'SIGKILL');
    await face.close();
    // They talk on for a second (Twilio's clock has whole seconds: so its end is after the dial), then hang up, unheard.
    await sleep(1_100);
    await twilio.setStatus(atTwilio(talked)!.sid, 'completed', { lost: true });
    const endedAtTwilio = atTwilio(talked)!.endedAt!;
    await sleep(1_100); // down a second longer, so the next engine's own clock cannot pass for Twilio's end time
    twilio.slow('calls.fetch', 300); // an engine that dialled before hearing back would show in the log's order

    const next = await spawnServer(env);
    try {
      const ended = await next.call('get_call', { call_id: first });
      expect(ended).toMatchObject({ status: 'completed', error: null, attempts: [{ status: 'completed', error_code: null }] });
      expect(Date.parse(ended.ended_at)).toBe(Math.floor(endedAtTwilio.getTime() / 1000) * 1000); // Twilio's end_time
      expect(Date.parse(ended.answered_at)).toBeLessThan(Date.parse(ended.ended_at));
      expect(await next.call('get_call', { call_id: second })).toMatchObject({ status: 'ringing', error: null });

      await until(() => atTwilio(dueMeanwhile), 'the call that fell due meanwhile to be dialled');
      const ops = twilio.restLog.map((r) => r.op);
      expect(ops.slice(0, ops.lastIndexOf('calls.create') + 1)).toEqual(['calls.create', 'calls.create', 'calls.fetch', 'calls.fetch', 'calls.create']);

      await twilio.setStatus(atTwilio(ringingOn)!.sid, 'busy');
      expect(await next.call('wait_for_calls', { call_ids: [second, third], timeout_seconds: 10 })).toMatchObject({ done: true });
      expect(await next.call('get_call', { call_id: second })).toMatchObject({ status: 'busy' });
      expect(await next.call('get_call', { call_id: third })).toMatchObject({ status: 'completed' });
    } finally {
      await next.close();
    }
  });
});
