import type { AgentReport } from '../insights/insights.js';
import type { InsightField } from '../insights/schema.js';

/** How a call is run: a voice agent holds the conversation, a message is played, or the MCP client talks turn by turn. */
export const CALL_MODES = ['agent', 'notify', 'conversation'] as const;
export type CallMode = (typeof CALL_MODES)[number];
/** Who picked up, as far as the carrier could tell. */
export type AnsweredBy = 'human' | 'machine' | 'fax' | 'unknown';

/** Everything the agent needs to know about the call it is running. */
export type AgentPlan = {
  mode: CallMode;
  /** notify: the text to speak; agent/conversation: the opening line after the disclosure. */
  message: string | null;
  instructions: string | null;
  fields: InsightField[];
  voicemailMessage: string | null;
};

/** Runs one conversation to its end and reports what it collected. */
export interface VoiceEngine {
  run(plan: AgentPlan, line: VoiceLine): Promise<AgentReport>;
}

/**
 * A live call as a voice agent sees it, in text: what it says is spoken to the callee, what it hears is
 * the callee (or their IVR or voicemail greeting). Carriers provide it; voice engines drive it.
 */
export interface VoiceLine {
  readonly answeredBy: AnsweredBy | null;
  say(text: string): Promise<void>;
  /** The next thing heard on the line. */
  listen(): Promise<Heard>;
  pressDigits(digits: string): Promise<void>;
  hangup(): Promise<void>;
}

export type Heard = { kind: 'speech'; text: string } | { kind: 'beep' } | { kind: 'hangup' };

