import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { canonicalTimeZone } from '../../guardrails/calling-hours.js';
import { hasE164Shape, isE164 } from '../../phone.js';

export const BEHAVIORS = ['answer', 'busy', 'no_answer', 'voicemail', 'ivr', 'busy_then_answer', 'fail'] as const;

const PersonSchema = z
  .object({
    name: z.string().min(1).optional(),
    behavior: z.enum(BEHAVIORS).default('answer'),
    ring_seconds: z.number().min(0).max(120).default(3),
    facts: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
    ivr_digit: z.string().regex(/^[0-9*#]$/).default('0'),
    busy_attempts: z.number().int().min(1).max(10).default(1),
    sms_reply: z.string().min(1).optional(),
    /** In a conversation call, what the person says to each question that names none of their facts, in order. */
    replies: z.array(z.string().min(1)).default([]),
    /** Where the person lives, for calling hours (an IANA name); by default where Switchboard runs. */
    timezone: z.string().refine((zone) => canonicalTimeZone(zone) !== null, 'must be an IANA time zone name such as America/Chicago').optional(),
  })
  .strict();

export type SimPerson = z.output<typeof PersonSchema>;

const DirectorySchema = z.record(z.string(), PersonSchema);

/** The simulated phone book: who answers which number, how, and what they know. */
export class SimDirectory {
  constructor(private readonly people: Record<string, SimPerson>) {}

  /** A user's file gets the full number check; the built-in one (tested) only the shape, keeping start-up fast. */
  static parse(raw: unknown, source = 'directory', numberIsValid: (n: string) => boolean = isE164): SimDirectory {
    const parsed = DirectorySchema.safeParse(raw);
    const problems = parsed.success
      ? Object.keys(parsed.data).filter((n) => !numberIsValid(n)).map((n) => `${source}: ${n}: must be an E.164 number like +15550100001`)
      : parsed.error.issues.map((i) => `${source}: ${i.path.join('.') || '(root)'}: ${i.message}`);
    if (!parsed.success || problems.length > 0) throw new Error(`invalid simulated directory:\n${problems.join('\n')}`);
    return new SimDirectory(parsed.data);
  }

  static load(path: string | undefined): SimDirectory {
    if (!path) return SimDirectory.parse(BUILT_IN_DIRECTORY, 'built-in directory', hasE164Shape);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`SWITCHBOARD_SIM_DIRECTORY: cannot read ${path} as JSON (${(err as Error).message})`);
    }
    return SimDirectory.parse(raw, path);
  }

  /** Unknown numbers answer, with no facts. */
  lookup(number: string): SimPerson {
    return this.people[number] ?? PersonSchema.parse({});
  }

  entries(): [string, SimPerson][] {
    return Object.entries(this.people);
  }
}

/** About a dozen roofers, plumbers and offices with every behaviour, so `switchboard demo` shows them all. */
export const BUILT_IN_DIRECTORY = {
  '+15550100001': { name: 'Ace Roofing', behavior: 'answer', ring_seconds: 3, facts: { price_per_square: '$450', earliest_start: 'next Monday', warranty_years: '10 years' }, sms_reply: 'Thanks! Ace Roofing here, we can send a written quote tomorrow.', replies: ['Sure, what would you like to know?', 'Yes, we can do that.', 'You are welcome, bye!'] },
  '+15550100002': { name: 'Busy Bee Roofing', behavior: 'busy' },
  '+15550100003': { name: 'Nobody Home Roofing', behavior: 'no_answer', ring_seconds: 20 },
  '+15550100004': { name: 'Summit Roofing', behavior: 'voicemail', ring_seconds: 4 },
  '+15550100005': { name: 'Peak Roofing Co', behavior: 'ivr', ivr_digit: '0', ring_seconds: 2, facts: { price_per_square: '$395', earliest_start: 'in two weeks', warranty_years: '25 years' } },
  '+15550100006': { name: 'Second Try Roofing', behavior: 'busy_then_answer', busy_attempts: 1, ring_seconds: 2, facts: { price_per_square: '$520', earliest_start: 'tomorrow' } },
  '+15550100007': { name: 'Disconnected Roofing', behavior: 'fail' },
  '+15550100008': { name: 'Evergreen Roofing', behavior: 'answer', ring_seconds: 5, facts: { price_per_square: '$410', earliest_start: 'the first of next month', warranty_years: '15 years' } },
  '+15550100009': { name: 'Flow Right Plumbing', behavior: 'answer', ring_seconds: 2, facts: { hourly_rate: '$120', available: 'this afternoon' }, sms_reply: 'Yes, we can come by at 4pm.', replies: ['Flow Right, how can we help?', 'We can be there at 4pm.'] },
  '+15550100010': { name: 'City Dental Office', behavior: 'ivr', ivr_digit: '2', ring_seconds: 3, facts: { next_appointment: 'Thursday at 10am' } },
  '+15550100011': { name: 'Dr. Lee (after hours)', behavior: 'voicemail', ring_seconds: 6 },
  '+15550100012': { name: 'Maria (neighbor)', behavior: 'answer', ring_seconds: 4, facts: { dog_sitting: 'happy to help this weekend' }, sms_reply: 'Sure, sounds good!', replies: ['Oh hi! What is up?', 'Of course, no problem.', 'Talk soon, bye!'] },
};
