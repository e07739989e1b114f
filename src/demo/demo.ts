import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../app.js';
import { waitForCalls } from '../calls/wait.js';
import type { Config } from '../config.js';
import { createLogger } from '../log.js';
import { BUILT_IN_DIRECTORY } from '../telephony/sim/directory.js';

const ROOFERS: { step: string; to: keyof typeof BUILT_IN_DIRECTORY; note: string }[] = [
  { step: 'call-ace', to: '+15550100001', note: 'answers' },
  { step: 'call-peak', to: '+15550100005', note: 'IVR menu first' },
  { step: 'call-second-try', to: '+15550100006', note: 'busy, then answers on the retry' },
  { step: 'call-summit', to: '+15550100004', note: 'goes to voicemail' },
  { step: 'call-evergreen', to: '+15550100008', note: 'answers' },
];

const QUOTE_FIELDS = {
  type: 'object',
  properties: {
    price_per_square: { type: 'string', description: 'price per roofing square' },
    earliest_start: { type: 'string', description: 'earliest start date' },
    warranty_years: { type: 'string', description: 'warranty length' },
  },
};

/**
 * `switchboard demo`: a whole outreach mission on the simulated carrier, in a throwaway store, then the same job as
 * a campaign, driven through the same domain functions the MCP tools call. Prints the report to `out`.
 */
export async function runDemo(config: Config, out: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-demo-'));
  const demoConfig: Config = {
    ...config,
    SWITCHBOARD_PROVIDER: 'sim',
    SWITCHBOARD_DATA_DIR: dataDir,
    SWITCHBOARD_SIM_DIRECTORY: undefined,
    // Ten times faster than life unless the user chose a pace.
    SWITCHBOARD_SIM_TIME_SCALE: env.SWITCHBOARD_SIM_TIME_SCALE ? config.SWITCHBOARD_SIM_TIME_SCALE : 0.1,
    SWITCHBOARD_MIN_CALL_SPACING_MS: env.SWITCHBOARD_MIN_CALL_SPACING_MS ? config.SWITCHBOARD_MIN_CALL_SPACING_MS : 200,
    // Simulated people in a throwaway store take calls at any hour: the demo runs whenever it is started. (The
    // fictional 555-01xx numbers count as anywhere in North America, a window of about two hours a day.)
    SWITCHBOARD_CALLING_HOURS: 'off',
    // It calls the same five simulated people twice over (once by hand, once as a campaign), retries included.
    SWITCHBOARD_MAX_CALLS_PER_NUMBER_PER_DAY: Math.max(config.SWITCHBOARD_MAX_CALLS_PER_NUMBER_PER_DAY, 10),
  };
  const app = await createApp(demoConfig, createLogger(env.SWITCHBOARD_LOG_LEVEL ?? 'warn'));
  const print = (line = '') => out.write(`${line}\n`);
  const started = Date.now();
  try {
    print('Switchboard demo — simulated carrier, no keys, nothing leaves this machine.');
    print(`Store: ${join(dataDir, 'switchboard.db')}\n`);
    const { mission } = app.missions.create({
      name: 'Get roofing quotes',
      instructions: 'Call five roofers, ask price per square, earliest start and warranty, then compare.',
      request: 'Find me a roofer: price, start date and warranty from a handful of local companies.',
      steps: [...ROOFERS.map((r) => ({ step_id: r.step, description: `Call ${BUILT_IN_DIRECTORY[r.to].name} (${r.note})` })), { step_id: 'text-ace', description: 'Text Ace Roofing for a written quote' }],
      insight_schema: QUOTE_FIELDS,
    });
    print(`Mission "${mission.name}" (${mission.slug}) with ${mission.steps.length} steps. Placing calls…`);
    const callIds = ROOFERS.map(
      (r) =>
        app.calls.initiate({
          to: r.to,
          mission_id: mission.mission_id,
          step_id: r.step,
          message: 'I am gathering roofing quotes for a homeowner.',
          amd: 'voicemail',
          voicemail_message: 'Please call back with a quote for a 20 square roof replacement. Thank you!',
          retry: { max_attempts: 3, interval_seconds: 1 },
        }).call.call_id,
    );
    app.messages.schedule({ to: '+15550100001', body: 'Hi Ace Roofing, could you send a written quote for a 20 square roof?', mission_id: mission.mission_id, step_id: 'text-ace' });

    let result = await waitForCalls(app, { callIds, until: 'all', timeoutMs: 25_000 });
    while (!result.done && Date.now() - started < 60_000) result = await waitForCalls(app, { callIds, until: 'all', timeoutMs: 25_000 });
    await settle(() => app.missions.get(mission.mission_id).status !== 'active', 5_000);
    // The SMS reply arrives a moment after delivery.
    await settle(() => app.messages.list({ with: '+15550100001', direction: 'inbound' }).length > 0, 3_000);

    const final = app.missions.get(mission.mission_id);
    print('\nSteps');
    for (const s of final.steps) print(`  ${pad(s.step_id, 16)} ${pad(s.status, 10)} ${s.description}`);

    for (const id of callIds) {
      const call = app.calls.get(id);
      const who = BUILT_IN_DIRECTORY[call.to as keyof typeof BUILT_IN_DIRECTORY]?.name ?? call.to;
      const tries = call.attempts.map((a) => a.status).join(' → ');
      print(`\nCall to ${who} ${call.to}: ${call.status.toUpperCase()} (attempts: ${tries}; answered by ${call.answered_by ?? 'n/a'})`);
      for (const t of call.transcript) print(`  ${t.speaker === 'agent' ? 'Agent ' : 'Callee'}: ${t.text}`);
    }

    print('\nMessages');
    for (const m of app.messages.list({ mission_id: mission.mission_id }).concat(app.messages.list({ with: '+15550100001', direction: 'inbound' })).reverse()) {
      print(`  ${m.direction === 'outbound' ? '→' : '←'} ${m.direction === 'outbound' ? m.to : m.from}  ${pad(m.status, 10)} ${m.body}`);
    }

    print('\nInsights');
    const rows = app.insights.forMission(mission.mission_id);
    const fields = Object.keys(QUOTE_FIELDS.properties);
    print(`  ${pad('callee', 22)} ${pad('outcome', 22)} ${fields.map((f) => pad(f, 24)).join(' ')}`);
    for (const r of rows) {
      const who = BUILT_IN_DIRECTORY[r.to as keyof typeof BUILT_IN_DIRECTORY]?.name ?? r.to;
      print(`  ${pad(who, 22)} ${pad(r.outcome ?? '', 22)} ${fields.map((f) => pad(String(r.fields[f] ?? '—'), 24)).join(' ')}`);
    }

    print(`\nMission ${final.status.toUpperCase()}: ${final.summary ?? 'still running'}`);

    // The same job as a campaign: one request, and Switchboard calls, retries, scores and ranks by itself.
    print('\nNow the same five roofers as a campaign: one create_mission with targets and a rubric…');
    const { mission: campaign } = app.campaigns.create({
      name: 'Rank roofers',
      instructions: 'Ask price per square, earliest start and warranty.',
      insight_schema: QUOTE_FIELDS,
      class: 'screening',
      targets: ROOFERS.map((r) => ({ to: r.to, name: BUILT_IN_DIRECTORY[r.to].name })),
      call: { amd: 'voicemail', voicemail_message: 'Please call back with a quote for a 20 square roof replacement.', retry: { max_attempts: 3, interval_seconds: 1 } },
      rubric: [
        { field: 'price_per_square', weight: 2, prefer: 'lower' },
        { field: 'warranty_years', weight: 1, prefer: 'higher' },
      ],
    });
    await settle(() => !['active', 'paused'].includes(app.missions.status(campaign.mission_id)), 60_000);
    const ranked = app.campaigns.rankingOf(campaign.mission_id) ?? [];
    print('\nCampaign ranking');
    for (const r of ranked) print(`  ${r.rank}. ${pad(r.name ?? r.to, 22)} score ${r.score.toFixed(2)} of ${r.max_score}  (${r.reasons.join('; ')})`);
    const done = app.missions.get(campaign.mission_id);
    print(`\nCampaign ${done.status.toUpperCase()}: ${done.summary ?? 'still running'}`);

    print(`\nFinished in ${((Date.now() - started) / 1000).toFixed(1)} s. Next: \`switchboard serve\` and connect an MCP client (see README).`);
    return final.status === 'succeeded' && done.status === 'succeeded' ? 0 : 1;
  } finally {
    await app.stop();
  }
}

async function settle(condition: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
}

const pad = (s: string, n: number) => (s.length >= n ? s.slice(0, n - 1) + '…' : s.padEnd(n));
