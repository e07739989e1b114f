import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

type Annotations = { readOnlyHint: boolean; destructiveHint: boolean; idempotentHint: boolean; openWorldHint: boolean };

/** Read-only tools that only look at Switchboard's own store. */
export const READ_ONLY: Annotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

export type ToolDefinition<I extends z.ZodObject, O extends z.ZodObject> = {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: Annotations;
  handle: (args: z.output<I>, extra: ToolExtra) => z.input<O> | Promise<z.input<O>>;
};

/**
 * Registers one tool. Domain failures (UserError) become isError results with the domain's own sentence;
 * anything else is logged and reported without internals, and the server stays up.
 */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(server: McpServer, log: Logger, def: ToolDefinition<I, O>): void {
  server.registerTool(
    def.name,
    { title: def.title, description: def.description, inputSchema: def.input, outputSchema: def.output, annotations: { title: def.title, ...def.annotations } },
    (async (args: z.output<I>, extra: ToolExtra): Promise<CallToolResult> => {
      try {
        const out = (await def.handle(args, extra)) as Record<string, unknown>;
        return { content: [{ type: 'text', text: JSON.stringify(out) }], structuredContent: out };
      } catch (err) {
        if (err instanceof UserError) return errorResult(err.message);
        log.error({ err, tool: def.name }, 'tool failed');
        return errorResult(`${def.name} failed unexpectedly (${(err as Error).message}); the server is still running, so try again or check its log.`);
      }
    }) as never,
  );
}

export function errorResult(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}
