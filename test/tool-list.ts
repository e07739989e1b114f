import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { startHarness } from './helpers.js';

/** tools/list as a client sees it. */
export async function listTools(): Promise<Tool[]> {
  const h = await startHarness();
  try {
    return (await h.client.listTools()).tools;
  } finally {
    await h.close();
  }
}
