import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { App } from '../../app.js';
import { Assistant, insightSchemaInput } from '../schemas.js';
import { defineTool, READ_ONLY } from '../tool.js';

const fields = {
  greeting: z.string().max(2000).optional().describe('Opening line after the AI disclosure'),
  voice: z.string().max(100).optional().describe('Voice name for the live voice engine'),
  insight_schema: insightSchemaInput.optional(),
  amd: z.enum(['off', 'detect', 'voicemail']).optional(),
  voicemail_message: z.string().max(2000).optional(),
};

export function registerAssistantTools(server: McpServer, app: App): void {
  const { assistants, log } = app;
  const write = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };

  defineTool(server, log, {
    name: 'create_assistant',
    title: 'Create assistant',
    description: 'Save a reusable voice-agent profile (instructions, greeting, voice, fields to collect, voicemail handling); pass its assistant_id to initiate_call.',
    input: z.object({ name: z.string(), instructions: z.string(), ...fields }),
    output: Assistant,
    annotations: write,
    handle: (args) => assistants.create(args),
  });

  defineTool(server, log, {
    name: 'update_assistant',
    title: 'Update assistant',
    description: 'Change some settings of a saved assistant; settings left out stay as they are. Calls already placed keep what they started with.',
    input: z.object({ assistant_id: z.string().min(1), name: z.string().optional(), instructions: z.string().optional(), ...fields }),
    output: Assistant,
    annotations: { ...write, idempotentHint: true },
    handle: ({ assistant_id, ...changes }) => assistants.update(assistant_id, changes),
  });

  defineTool(server, log, {
    name: 'list_assistants',
    title: 'List assistants',
    description: 'Saved voice-agent profiles with their instructions, greeting, voice, fields and voicemail handling; pass an assistant_id to initiate_call.',
    input: z.object({}),
    output: z.object({ assistants: z.array(Assistant) }),
    annotations: READ_ONLY,
    handle: () => ({ assistants: assistants.list() }),
  });
}
