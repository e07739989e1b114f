import type { AgentReport } from '../insights/insights.js';
import type { InsightField } from '../insights/schema.js';
import type { CallMode, VoiceLine } from '../telephony/provider.js';

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
