import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ElicitRequestFormParams, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { App } from '../app.js';
import type { Approver } from '../campaigns/campaigns.js';
import { UserError } from '../errors.js';
import { refusalText } from './advice.js';

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Sends MCP progress notifications for a request that asked for them (a progress token), and nothing otherwise. */
export function progressSender(extra: ToolExtra): (progress: number, total: number, message: string) => Promise<void> {
  return async (progress, total, message) => {
    const token = extra._meta?.progressToken;
    if (token === undefined) return;
    await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, total, message } });
  };
}

/** What the connected client itself offers a tool: a way to ask its user (MCP elicitation), when it has one. */
export type ClientSession = { approver?: Approver };

/** How long a question put to the user by elicitation may stay open before the work waits for a tool call instead. */
const ELICITATION_TIMEOUT_MS = 15 * 60_000;

export type ToolAnnotations = { readOnlyHint: boolean; destructiveHint: boolean; idempotentHint: boolean; openWorldHint: boolean };

/** Read-only tools that only look at Switchboard's own store. */
export const READ_ONLY: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

/**
 * One tool as a plain value: what tools/list shows, and a handler that gets the app only when called,
 * so the definitions load (for the README and the surface snapshot) without a store or a carrier.
 */
export type ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> = {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  /** Validate, call one domain function, shape the result; throw UserError for a refusal the model can act on. */
  handle(app: App, args: z.output<I>, extra: ToolExtra, session: ClientSession): z.input<O> | Promise<z.input<O>>;
};

/** Returns the definition unchanged; it only lets TypeScript type each handler by its own schemas. */
export const defineTool = <I extends z.ZodObject, O extends z.ZodObject>(def: ToolDefinition<I, O>): ToolDefinition => def;

/**
 * Registers the tools, in order. Domain failures (UserError) become isError results with the domain's own
 * sentence; anything else is logged and reported without internals, and the server stays up.
 */
export function registerTools(server: McpServer, app: App, tools: readonly ToolDefinition[]): void {
  const session = (): ClientSession =>
    server.server.getClientCapabilities()?.elicitation
      ? {
          approver: async ({ message, requestedSchema }) =>
            (await server.server.elicitInput(
              { mode: 'form', message, requestedSchema: requestedSchema as ElicitRequestFormParams['requestedSchema'] },
              { timeout: ELICITATION_TIMEOUT_MS },
            )) as Awaited<ReturnType<Approver>>,
        }
      : {};
  for (const def of tools) {
    server.registerTool(
      def.name,
      { title: def.title, description: def.description, inputSchema: def.input, outputSchema: def.output, annotations: { title: def.title, ...def.annotations } },
      (async (args: Record<string, unknown>, extra: ToolExtra): Promise<CallToolResult> => {
        try {
          const out = (await def.handle(app, args, extra, session())) as Record<string, unknown>;
          return { content: [{ type: 'text', text: JSON.stringify(out) }], structuredContent: out };
        } catch (err) {
          if (err instanceof UserError) return errorResult(refusalText(err));
          app.log.error({ err, tool: def.name }, 'tool failed');
          // Clients that asked for log messages (logging/setLevel) hear of it too.
          void server.server.sendLoggingMessage({ level: 'error', logger: 'switchboard', data: { tool: def.name, error: (err as Error).message } }).catch(() => undefined);
          return errorResult(`${def.name} failed unexpectedly (${(err as Error).message}); the server is still running, so try again or check its log.`);
        }
      }) as never,
    );
  }
}

function errorResult(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}
