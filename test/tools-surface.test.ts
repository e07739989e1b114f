import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { firstSentence, README, renderToolTable, spliceReadme } from '../scripts/readme-tools.js';
import { startHarness } from './helpers.js';
import { listTools } from './tool-list.js';

const SPEC_TOOLS = [
  'initiate_call', 'get_call', 'list_calls', 'end_call', 'wait_for_calls', 'schedule_sms', 'list_messages',
  'create_mission', 'get_mission', 'list_missions', 'update_step', 'log_event', 'save_memory', 'complete_mission',
  'get_insights', 'create_assistant', 'update_assistant', 'list_assistants',
];
const SNAPSHOTS = fileURLToPath(new URL('__snapshots__/tools/', import.meta.url));

describe('the tool surface', () => {
  const tools = listTools();

  it('is what a real client sees in tools/list', async () => {
    const h = await startHarness();
    try {
      const listed = (await h.client.listTools()).tools;
      expect(JSON.stringify(tools, null, 2)).toBe(JSON.stringify(listed, null, 2));
    } finally {
      await h.close();
    }
  });

  it.each(tools.map((t) => [t.name, t] as const))('%s matches its committed snapshot (review any diff: names, schemas and annotations are a contract)', async (name, tool) => {
    await expect(JSON.stringify(tool, null, 2) + '\n').toMatchFileSnapshot(`${SNAPSHOTS}${name}.json`);
  });

  it('keeps no snapshot of a tool that is gone (delete its file)', () => {
    const names = new Set(tools.map((t) => t.name));
    expect(readdirSync(SNAPSHOTS).filter((file) => !names.has(file.replace(/\.json$/, '')))).toEqual([]);
  });

  it('registers every tool SPEC names, each complete and acceptable to Claude Desktop', () => {
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

  it('is what the README documents (regenerate with npm run readme)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(spliceReadme(readme, renderToolTable(tools))).toBe(readme);
  });

  it('documents each tool by its first sentence, read past abbreviations like "e.g."', () => {
    expect(firstSentence('Start a mission (e.g. "call roofers"). Give it steps.')).toBe('Start a mission (e.g. "call roofers")');
    expect(firstSentence('Pick one, i.e. the cheapest. Then call.')).toBe('Pick one, i.e. the cheapest');
    expect(firstSentence('Costs 2.50 dollars. More.')).toBe('Costs 2.50 dollars');
    expect(firstSentence('One sentence.')).toBe('One sentence');
    expect(firstSentence('No full stop')).toBe('No full stop');
  });
});
