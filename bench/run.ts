import { benchEngine } from './engine.js';
import { benchLateness, benchThroughput } from './pipeline.js';
import { benchStdio } from './stdio.js';
import { printTable, type Row } from './util.js';
import { benchVoice } from './voice.js';
import { benchWebhooks } from './webhooks.js';

/** `npm run bench`: every measured figure, one table. */
const rows: Row[] = [];
for (const [name, bench] of [
  ['stdio', benchStdio],
  ['engine', benchEngine],
  ['pipeline', () => benchThroughput()],
  ['webhooks', () => benchWebhooks()],
  ['scheduler', benchLateness],
  ['voice', () => benchVoice()],
] as const) {
  process.stderr.write(`bench: ${name}…\n`);
  rows.push(...(await bench()));
}
printTable(rows);
