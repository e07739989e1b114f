import { afterEach, describe, expect, it } from 'vitest';
import { TelnyxEmulator } from './fakes/telnyx-emulator.js';
import { freePort, testEnv, until } from './helpers.js';
import { enginePid, spawnServer } from './spawn.js';

const OUR_NUMBER = '+12125550100';
const emulators: TelnyxEmulator[] = [];
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
});
