import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** The built server, spawned as an MCP client would (`node dist/cli.js serve` over stdio). */
export async function spawnServer(env: Record<string, string>) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'serve'],
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  const client = new Client({ name: 'e2e', version: '0' });
  await client.connect(transport);
  return {
    client,
    transport,
    pid: transport.pid!,
    stderr: () => stderr,
    async call(name: string, args: Record<string, unknown> = {}): Promise<any> {
      const res = await client.callTool({ name, arguments: args }, CallToolResultSchema);
      if (res.isError) throw new Error(`${name}: ${(res.content as { text: string }[])[0].text}`);
      return res.structuredContent;
    },
    close: () => client.close(),
  };
}
