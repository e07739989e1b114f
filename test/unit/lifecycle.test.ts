import { describe, expect, it } from 'vitest';
import { attemptMachine, callMachine } from '../../src/calls/lifecycle.js';
import { smsMachine } from '../../src/messages/lifecycle.js';
import { missionMachine, missionOutcome, stepMachine } from '../../src/missions/lifecycle.js';

describe('step transitions', () => {
  it('allows exactly the documented moves', () => {
    const allowed = stepMachine.statuses.flatMap((from) => stepMachine.statuses.filter((to) => stepMachine.canMove(from, to)).map((to) => `${from}→${to}`));
    expect(allowed.sort()).toEqual(
      ['pending→in_progress', 'pending→skipped', 'in_progress→completed', 'in_progress→failed', 'in_progress→skipped'].sort(),
    );
  });

  it('refuses an illegal move with a sentence naming the legal ones', () => {
    expect(() => stepMachine.assertMove('completed', 'pending', 'step call-ace')).toThrow('step call-ace cannot move from completed to pending: completed is final.');
    expect(() => stepMachine.assertMove('pending', 'completed')).toThrow('from pending it may only move to in_progress or skipped');
  });
});

describe('mission outcome', () => {
  it('ends only when every step is final, failed if any step failed', () => {
    expect(missionOutcome([])).toBeNull();
    expect(missionOutcome([{ status: 'completed' }, { status: 'in_progress' }])).toBeNull();
    expect(missionOutcome([{ status: 'completed' }, { status: 'skipped' }])).toBe('succeeded');
    expect(missionOutcome([{ status: 'completed' }, { status: 'failed' }])).toBe('failed');
  });

  it('treats every mission end as final', () => {
    for (const s of ['succeeded', 'failed', 'cancelled'] as const) expect(missionMachine.isTerminal(s)).toBe(true);
    expect(missionMachine.canMove('active', 'cancelled')).toBe(true);
  });
});

describe('call and attempt transitions', () => {
  const ends = ['completed', 'busy', 'no_answer', 'voicemail', 'failed', 'canceled'] as const;

  it('makes every end status final', () => {
    for (const end of ends) {
      expect(callMachine.isTerminal(end)).toBe(true);
      expect(attemptMachine.isTerminal(end)).toBe(true);
    }
  });

  it('never lets a late callback move an attempt backwards', () => {
    expect(attemptMachine.canMove('in_progress', 'ringing')).toBe(false);
    expect(attemptMachine.canMove('completed', 'in_progress')).toBe(false);
    expect(attemptMachine.canMove('ringing', 'in_progress')).toBe(true);
  });

  it('lets a live call fall back to scheduled only for a retry, never a finished one', () => {
    expect(callMachine.canMove('ringing', 'scheduled')).toBe(true);
    expect(callMachine.canMove('busy', 'scheduled')).toBe(false);
    expect(callMachine.canMove('scheduled', 'in_progress')).toBe(false);
  });
});

describe('sms transitions', () => {
  it('goes scheduled → queued → sent → delivered and never back', () => {
    expect(smsMachine.canMove('scheduled', 'queued')).toBe(true);
    expect(smsMachine.canMove('queued', 'sent')).toBe(true);
    expect(smsMachine.canMove('sent', 'delivered')).toBe(true);
    expect(smsMachine.canMove('delivered', 'sent')).toBe(false);
    expect(smsMachine.isTerminal('received')).toBe(true);
  });
});

describe('the built-in simulated directory', () => {
  it('lists only valid E.164 numbers and every behaviour', async () => {
    const { BUILT_IN_DIRECTORY, BEHAVIORS, SimDirectory } = await import('../../src/telephony/sim/directory.js');
    const strict = SimDirectory.parse(BUILT_IN_DIRECTORY);
    expect(new Set(strict.entries().map(([, p]) => p.behavior))).toEqual(new Set(BEHAVIORS));
  });

  it('refuses a directory file with a bad number or behaviour, naming the problem', async () => {
    const { SimDirectory } = await import('../../src/telephony/sim/directory.js');
    expect(() => SimDirectory.parse({ '555-0100': { behavior: 'answer' } }, 'people.json')).toThrow(/people.json: 555-0100: must be an E.164 number/);
    expect(() => SimDirectory.parse({ '+15550100001': { behavior: 'sing' } }, 'people.json')).toThrow(/people.json: \+15550100001.behavior/);
  });
});
