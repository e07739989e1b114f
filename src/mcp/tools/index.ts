import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { App } from '../../app.js';
import { registerAssistantTools } from './assistants.js';
import { registerCallTools } from './calls.js';
import { registerInsightTools } from './insights.js';
import { registerMessageTools } from './messages.js';
import { registerMissionTools } from './missions.js';

/** Every tool, by area, in the order tools/list shows them. */
export function registerTools(server: McpServer, app: App): void {
  registerCallTools(server, app);
  registerMessageTools(server, app);
  registerMissionTools(server, app);
  registerInsightTools(server, app);
  registerAssistantTools(server, app);
}
