import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, renderToolTable, spliceReadme } from '../scripts/readme-tools.js';
import { listTools } from './tool-list.js';

const SPEC_TOOLS = [
  'initiate_call', 'get_call', 'list_calls', 'end_call', 'wait_for_calls', 'schedule_sms', 'list_messages',
  'create_mission', 'get_mission', 'list_missions', 'update_step', 'log_event', 'save_memory', 'complete_mission',
  'get_insights', 'create_assistant', 'update_assistant', 'list_assistants',
];

describe('the tool surface', () => {
  it('matches the committed snapshot (review any diff: names, schemas and annotations are a contract)', async () => {
    const tools = await listTools();
    await expect(JSON.stringify(tools, null, 2) + '\n').toMatchFileSnapshot('__snapshots__/tools.json');
  });

  it('registers every tool SPEC names, each complete and acceptable to Claude Desktop', async () => {
    const tools = await listTools();
    const names = tools.map((t) => t.name);
    for (const name of SPEC_TOOLS) expect(names).toContain(name);
    for (const t of tools) {
      expect(t.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
      expect(t.description!.length).toBeGreaterThan(40);
      expect(t.outputSchema?.type).toBe('object');
      expect(Object.keys(t.annotations ?? {}).sort()).toEqual(['destructiveHint', 'idempotentHint', 'openWorldHint', 'readOnlyHint', 'title']);
      for (const key of Object.keys(t.inputSchema.properties ?? {})) expect(key).toMatch(/^[a-zA-Z0-9_.-]{1,64}$/);
    }
  });

  it('is what the README documents (regenerate with npm run readme)', async () => {
    const readme = readFileSync(README, 'utf8');
    expect(spliceReadme(readme, renderToolTable(await listTools()))).toBe(readme);
  });
});
