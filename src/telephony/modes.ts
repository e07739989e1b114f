import type { CallMode } from './provider.js';

/** Why a real carrier refuses a call mode, and what to do about it. */
export function unsupportedMode(carrier: string, mode: CallMode, liveVoice: boolean): string {
  if (mode === 'agent' && !liveVoice) {
    return `${carrier} runs agent calls with live voice only: set SWITCHBOARD_VOICE=openai and OPENAI_API_KEY, or use mode "notify".`;
  }
  return `${carrier} cannot run ${mode} calls yet; use mode "notify"${liveVoice ? ' or "agent"' : ''}.`;
}
