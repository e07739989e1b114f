import { UserError } from '../errors.js';
import { e164Message, isE164 } from '../phone.js';
import type { Store } from '../store/store.js';
import { nowIso } from '../time.js';

/** Where an entry came from: an SMS STOP, an opt-out heard on a call (agent report or callee's words), or the client. */
export const DO_NOT_CONTACT_SOURCES = ['sms_stop', 'call_opt_out', 'client'] as const;
export type DoNotContactEntry = { number: string; reason: string; source: (typeof DO_NOT_CONTACT_SOURCES)[number]; created_at: string };

/** Carrier-standard opt-out and opt-in keywords (a message that is exactly the word). */
const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPTOUT', 'REVOKE']);
const START_WORDS = new Set(['START', 'UNSTOP', 'YES', 'OPTIN']);

export function optOutKeyword(body: string): 'stop' | 'start' | null {
  const word = body.trim().replace(/[.!]+$/, '').toUpperCase();
  if (STOP_WORDS.has(word)) return 'stop';
  if (START_WORDS.has(word)) return 'start';
  return null;
}

/** Numbers Switchboard must not call or text. The scheduler checks it before every dispatch. */
export class DoNotContact {
  constructor(private readonly store: Store) {}

  has(number: string): boolean {
    return this.store.sql('SELECT 1 FROM do_not_contact WHERE number = ?').get(number) !== undefined;
  }

  list(): DoNotContactEntry[] {
    return this.store.sql('SELECT number, reason, source, created_at FROM do_not_contact ORDER BY created_at, number').all() as DoNotContactEntry[];
  }

  /** Blocks a number from now on; its live calls are hung up in the same transaction (see the `contact.blocked` handlers). */
  add(number: string, reason: string, source: DoNotContactEntry['source'] = 'client'): DoNotContactEntry {
    if (!isE164(number)) throw new UserError(e164Message('number', number));
    this.store.tx(() => {
      this.store.sql('INSERT INTO do_not_contact (number, reason, source, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (number) DO NOTHING').run(number, reason, source, nowIso());
      this.store.events.emit({ type: 'contact.blocked', number });
    });
    return this.store.sql('SELECT number, reason, source, created_at FROM do_not_contact WHERE number = ?').get(number) as DoNotContactEntry;
  }

  /** Removes a number; with `onlySource`, only an entry of that origin (an SMS START lifts only an SMS STOP). */
  remove(number: string, onlySource?: DoNotContactEntry['source']): boolean {
    if (!isE164(number)) throw new UserError(e164Message('number', number));
    const info = this.store.tx(() =>
      this.store.sql('DELETE FROM do_not_contact WHERE number = @number AND (@source IS NULL OR source = @source)').run({ number, source: onlySource ?? null }),
    );
    return info.changes > 0;
  }
}
