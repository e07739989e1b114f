import { benchCampaigns } from './campaigns.js';
import { benchConversation } from './conversation.js';
import { benchEngine } from './engine.js';
import { benchLateness, benchThroughput } from './pipeline.js';
import { benchStdio } from './stdio.js';
import { printTable, type Row } from './util.js';
import { benchVoice } from './voice.js';
import { benchWebhooks } from './webhooks.js';

const benches = [
  ['stdio', benchStdio],
  ['engine', benchEngine],
  ['pipeline', () => benchThroughput()],
  ['webhooks', () => benchWebhooks()],
  ['scheduler', benchLateness],
  ['voice', () => benchVoice()],
  ['conversation', () => benchConversation()],
  ['campaigns', benchCampaigns],
] as const;

/** `npm run bench`: every measured figure, one table; `npm run bench -- engine webhooks` runs only those parts. */
const only = process.argv.slice(2);
const unknown = only.filter((name) => !benches.some(([known]) => known === name));
if (unknown.length) {
  console.error(`unknown bench part(s): ${unknown.join(', ')}; known: ${benches.map(([name]) => name).join(', ')}`);
  process.exit(2);
}
const rows: Row[] = [];
for (const [name, bench] of benches) {
  if (only.length && !only.includes(name)) continue;
  process.stderr.write(`bench: ${name}…\n`);
  rows.push(...(await bench()));
}
printTable(rows);
