import type { CallMode } from './provider.js';

/** Why a carrier refuses a call mode, and what to do about it. */
export function unsupportedMode(carrier: string, mode: CallMode, supported: readonly CallMode[]): string {
  const instead = `use mode ${supported.map((m) => `"${m}"`).join(' or ')}`;
  if (mode === 'agent') return `${carrier} runs agent calls with live voice only: set SWITCHBOARD_VOICE=openai and OPENAI_API_KEY, or ${instead}.`;
  return `${carrier} cannot run ${mode} calls; ${instead}.`;
}

/** A carrier's name as people write it (Twilio, Telnyx). */
export const carrierName = (provider: string): string => provider.charAt(0).toUpperCase() + provider.slice(1);
