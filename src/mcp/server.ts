import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { App } from '../app.js';
import { VERSION } from '../version.js';
import { registerResources } from './resources.js';
import { registerTools } from './tool.js';
import { tools } from './tools/index.js';

const INSTRUCTIONS = `Switchboard gives you a phone. Place calls with initiate_call and SMS with schedule_sms; both return at once with an id.
For outreach to a list, create_mission with targets (preview_mission first shows who is called when): Switchboard calls, retries, ranks and composes the result itself.
For outreach you run call by call, create_mission with steps + insight_schema, then link each call to a step: Switchboard moves steps and ends the mission itself.
Use wait_for_calls to wait for outcomes (no polling loops), get_insights to compare what calls found out, get_mission to report back.
Phone numbers are E.164 (+15551234567); times are ISO 8601 with a zone.`;

/** One MCP server over the shared app. Each connected client gets its own instance; all share the domain. */
export function createMcpServer(app: App): { server: McpServer; close(): Promise<void> } {
  const server = new McpServer(
    { name: 'switchboard', title: 'Switchboard', version: VERSION },
    { capabilities: { resources: { subscribe: true, listChanged: true }, tools: { listChanged: false }, logging: {} }, instructions: INSTRUCTIONS },
  );
  registerTools(server, app, tools);
  const stopListening = registerResources(server, app);
  return {
    server,
    close: async () => {
      stopListening();
      await server.close();
    },
  };
}
