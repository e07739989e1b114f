import type { ToolDefinition } from '../tool.js';
import { assistantTools } from './assistants.js';
import { callTools } from './calls.js';
import { campaignTools } from './campaigns.js';
import { conversationTools } from './conversation.js';
import { insightTools } from './insights.js';
import { messageTools } from './messages.js';
import { missionTools } from './missions.js';

/** Every tool, by area, in the order tools/list shows them. */
export const tools: readonly ToolDefinition[] = [...callTools, ...conversationTools, ...messageTools, ...missionTools, ...campaignTools, ...insightTools, ...assistantTools];
