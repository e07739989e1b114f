import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { TEST_MODE, UNGUARDED } from './helpers.js';

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/**
 * The environment a spawned `serve` gets: the test's, with SWITCHBOARD_ENGINE following TEST_MODE and the guardrails
 * out of the way (as in testEnv) unless the test set them.
 */
export function serveEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', SWITCHBOARD_ENGINE: TEST_MODE === 'engine' ? 'auto' : 'embedded', ...UNGUARDED, ...env };
}

/** The pid of the engine holding a data dir, as its lock file says. */
export function enginePid(dataDir: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(dataDir, 'engine.lock'), 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
}

/**
 * Ends, when the test does, the engine running for a data dir (one a face started in the background). Registered
 * after the data dir's own clean-up, it runs before it (hooks run last-registered first).
 */
export function stopEngineAtEnd(dataDir: string): void {
  onTestFinished(async () => {
    const pid = enginePid(dataDir);
    if (pid === undefined || pid === process.pid) return;
    try {
      process.kill(pid!, 'SIGTERM');
    } catch {
      return; // already gone
    }
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(pid!, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    process.kill(pid!, 'SIGKILL');
  });
}

/** The built server, spawned as an MCP client would (`node dist/cli.js serve` over stdio). */
export async function spawnServer(env: Record<string, string>, client = new Client({ name: 'e2e', version: '0' })) {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'serve'], env: serveEnv(env), stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  if (env.SWITCHBOARD_DATA_DIR) stopEngineAtEnd(env.SWITCHBOARD_DATA_DIR);
  await client.connect(transport).catch((err: Error) => {
    throw new Error(`switchboard serve did not come up (${err.message}); its stderr: ${stderr}`);
  });
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
