import { describe, expect, it } from 'vitest';
import { Changes } from '../../src/changes.js';
import { UserError } from '../../src/errors.js';
import { refusalText } from '../../src/mcp/advice.js';
import { Missions } from '../../src/missions/missions.js';
import { senderNumber } from '../../src/phone.js';
import { openStore } from '../../src/store/database.js';
import { Store } from '../../src/store/store.js';
import { startHarness } from '../helpers.js';

/** What a domain call throws, for a look at its code and hint. */
function refusal(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('refusals', () => {
  it('the domain says what is wrong with a code and a hint, naming no tool and no environment variable', () => {
    const missions = new Missions(new Store(openStore(':memory:'), new Changes()));
    const unknown = refusal(() => missions.get('no-such-mission'));
    expect(unknown).toMatchObject({ code: 'not_found', hint: { see: 'list', of: 'missions' }, message: 'No mission has id or slug "no-such-mission".' });
    const { mission } = missions.create({ name: 'Quotes', instructions: 'compare', steps: [{ step_id: 'a', description: 'call A' }] });
    const early = refusal(() => missions.complete(mission.mission_id, 'succeeded', 'done'));
    expect(early).toMatchObject({ code: 'conflict', hint: { see: 'open_steps' } });
    const noCallerId = refusal(() => senderNumber(undefined, undefined));
    for (const err of [unknown, early, noCallerId]) expect(err.message).not.toMatch(/list_|update_step|SWITCHBOARD_/);
  });

  it('the MCP face phrases the hint as the tool or setting to use', async () => {
    expect(refusalText(new UserError('No caller id: pass `from`.', { hint: { see: 'setting', setting: 'default_caller_id' } }))).toBe(
      'No caller id: pass `from`. Or set SWITCHBOARD_FROM_NUMBER to a number you own on the carrier.',
    );
    const h = await startHarness();
    try {
      expect(await h.fail('get_call', { call_id: 'call_nope' })).toBe('No call has id "call_nope". list_calls shows the calls that exist.');
      const { mission_id } = await h.call('create_mission', { name: 'Quotes', instructions: 'compare', steps: [{ step_id: 'a', description: 'call A' }] });
      expect(await h.fail('complete_mission', { mission_id, status: 'succeeded', summary: 'done' })).toMatch(/still has open steps \(a\)\. Finish or skip them with update_step/);
    } finally {
      await h.close();
    }
  });
});
