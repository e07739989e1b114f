import type { AnsweredBy } from '../provider.js';

/** Every `AnsweredBy` value Twilio's answering machine detection reports; `machine_end_*` only with DetectMessageEnd. */
const TWILIO_ANSWERED_BY = {
  human: 'human',
  unknown: 'unknown',
  fax: 'fax',
  machine_start: 'machine',
  machine_end_beep: 'machine',
  machine_end_silence: 'machine',
  machine_end_other: 'machine',
} as const satisfies Record<string, AnsweredBy>;

export type TwilioAnsweredBy = keyof typeof TWILIO_ANSWERED_BY;

export function parseAnsweredBy(value: string | undefined): TwilioAnsweredBy | undefined {
  return value !== undefined && Object.hasOwn(TWILIO_ANSWERED_BY, value) ? (value as TwilioAnsweredBy) : undefined;
}

export const toAnsweredBy = (value: TwilioAnsweredBy): AnsweredBy => TWILIO_ANSWERED_BY[value];

/** The machine's greeting is over, so a message spoken now lands on the recording. */
export const isAfterGreeting = (value: TwilioAnsweredBy): boolean => value.startsWith('machine_end_');

/** A machine or a fax picked up: nobody to talk with. */
export const isMachine = (value: TwilioAnsweredBy | undefined): value is Exclude<TwilioAnsweredBy, 'human' | 'unknown'> =>
  value === 'fax' || value?.startsWith('machine_') === true;
