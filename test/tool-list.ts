import { toJsonSchemaCompat } from '@modelcontextprotocol/sdk/server/zod-json-schema-compat.js';
import { ToolSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ToolDefinition } from '../src/mcp/tool.js';
import { tools } from '../src/mcp/tools/index.js';

/**
 * tools/list as a client sees it, built from the definitions alone (no app, no store, no carrier): what
 * McpServer's tools/list handler sends for a registerTool tool, then the client's own parse of it.
 * test/tools-surface.test.ts checks it against a real client, so the two cannot drift.
 */
export function listTools(definitions: readonly ToolDefinition[] = tools): Tool[] {
  return definitions.map((def) =>
    ToolSchema.parse({
      name: def.name,
      title: def.title,
      description: def.description,
      inputSchema: toJsonSchemaCompat(def.input, { strictUnions: true, pipeStrategy: 'input' }),
      outputSchema: toJsonSchemaCompat(def.output, { strictUnions: true, pipeStrategy: 'output' }),
      annotations: { title: def.title, ...def.annotations },
      execution: { taskSupport: 'forbidden' },
    }),
  );
}
