import { z } from 'zod';
import { AMD_MODES } from '../../telephony/provider.js';
import { Assistant, insightSchemaInput } from '../schemas.js';
import { defineTool, READ_ONLY, type ToolDefinition } from '../tool.js';

const fields = {
  greeting: z.string().max(2000).optional().describe('Opening line after the AI disclosure'),
  voice: z.string().max(100).optional().describe('Voice name for the live voice engine'),
  insight_schema: insightSchemaInput.optional(),
  amd: z.enum(AMD_MODES).optional(),
  voicemail_message: z.string().max(2000).optional(),
};
const write = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };

/** Saved voice-agent profiles that calls can start from. */
export const assistantTools: readonly ToolDefinition[] = [
  defineTool({
    name: 'create_assistant',
    title: 'Create assistant',
    description: 'Save a reusable voice-agent profile (instructions, greeting, voice, fields to collect, voicemail handling); pass its assistant_id to initiate_call.',
    input: z.object({ name: z.string(), instructions: z.string(), ...fields }),
    output: Assistant,
    annotations: write,
    handle: (app, args) => app.assistants.create(args),
  }),

  defineTool({
    name: 'update_assistant',
    title: 'Update assistant',
    description: 'Change some settings of a saved assistant; settings left out stay as they are. Calls already placed keep what they started with.',
    input: z.object({ assistant_id: z.string().min(1), name: z.string().optional(), instructions: z.string().optional(), ...fields }),
    output: Assistant,
    annotations: { ...write, idempotentHint: true },
    handle: (app, { assistant_id, ...changes }) => app.assistants.update(assistant_id, changes),
  }),

  defineTool({
    name: 'list_assistants',
    title: 'List assistants',
    description: 'Saved voice-agent profiles with their instructions, greeting, voice, fields and voicemail handling; pass an assistant_id to initiate_call.',
    input: z.object({}),
    output: z.object({ assistants: z.array(Assistant) }),
    annotations: READ_ONLY,
    handle: (app) => ({ assistants: app.assistants.list() }),
  }),
];
