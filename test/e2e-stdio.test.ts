import { SCHEMA_VERSION } from '../src/store/database.js';
import { spawn, spawnSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { freePort, tempDir, TEST_MODE, testEnv, until } from './helpers.js';
import { CLI, serveEnv, spawnServer, stopEngineAtEnd } from './spawn.js';

describe('the built server over stdio', () => {
  it('drives a mission from creation to automatic success', async () => {
    const server = await spawnServer(testEnv());
    try {
      await server.call('create_mission', {
        name: 'Quotes',
        instructions: 'call two roofers',
        insight_schema: { type: 'object', properties: { price_per_square: { type: 'string' } } },
        steps: [
          { step_id: 'ace', description: 'Call Ace' },
          { step_id: 'peak', description: 'Call Peak' },
        ],
      });
      await server.call('initiate_call', { to: '+15550100001', mission_id: 'quotes', step_id: 'ace' });
      await server.call('initiate_call', { to: '+15550100005', mission_id: 'quotes', step_id: 'peak' });
      const waited = await server.call('wait_for_calls', { mission_id: 'quotes', until: 'all', timeout_seconds: 20 });
      expect(waited.done).toBe(true);
      const mission = await until(async () => {
        const m = await server.call('get_mission', { mission_id: 'quotes' });
        return m.status !== 'active' && m;
      }, 'the mission to end');
      expect(mission.status).toBe('succeeded');
      const { rows } = await server.call('get_insights', { mission_id: 'quotes' });
      expect(rows.map((r: any) => r.fields.price_per_square)).toEqual(['$450', '$395']);
    } finally {
      await server.close();
    }
  });

  it('asks a stdio client at a campaign’s approval gate by elicitation, and goes on with its answer', async () => {
    const client = new Client({ name: 'e2e-elicit', version: '0' }, { capabilities: { elicitation: {} } });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(req.params.message);
      return { action: 'accept', content: { approve: true, targets: '+15550100008' } };
    });
    const server = await spawnServer(testEnv(), client);
    try {
      const quote = { type: 'object', properties: { price_per_square: { type: 'string' } } };
      const m = await server.call('create_mission', {
        name: 'Two rounds',
        instructions: 'Ask the price per square.',
        insight_schema: quote,
        class: 'multi_round',
        rubric: [{ field: 'price_per_square', weight: 1, prefer: 'lower' }],
        rounds: { advance_top: 1 },
        targets: [{ to: '+15550100001' }, { to: '+15550100008' }],
      });
      const done = await until(async () => {
        const mission = await server.call('get_mission', { mission_id: m.mission_id });
        return !['active', 'awaiting_approval'].includes(mission.status) && mission;
      }, 'the campaign to end', 20_000);
      expect(asked).toEqual([expect.stringMatching(/^Round 1 is done\. Call these 1 again for round 2\?\n1\. \+15550100008: score 1 of 1$/)]);
      // The user chose the number to call again.
      expect(done.result.table.map((r: any) => r.to)).toEqual(['+15550100008']);
      expect(done.status).toBe('succeeded');
    } finally {
      await server.close();
    }
  });

  it('writes nothing but JSON-RPC frames to stdout, and exits cleanly when stdin closes', async () => {
    const env = testEnv({ SWITCHBOARD_LOG_LEVEL: 'debug' });
    const child = spawn(process.execPath, [CLI, 'serve'], { env: serveEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    stopEngineAtEnd(env.SWITCHBOARD_DATA_DIR);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const send = (msg: object) => child.stdin.write(`${JSON.stringify(msg)}\n`);
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'initiate_call', arguments: { to: '+15550100001', mode: 'notify', message: 'hello' } } });
    send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'get_mission', arguments: { mission_id: 'missing' } } });
    const frames = () => stdout.split('\n').slice(0, -1).map((line) => JSON.parse(line));
    await until(() => frames().filter((f) => f.id !== undefined).length === 4, 'answers to all four requests');
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.stdin.end();
    expect(await exited).toBe(0);
    expect(frames().map((f) => f.id).filter((id) => id !== undefined).sort()).toEqual([1, 2, 3, 4]);
    for (const frame of frames()) expect(frame.jsonrpc).toBe('2.0');
    expect(stdout.endsWith('\n')).toBe(true);
    expect(stderr).toMatch(/switchboard ready/);
    expect(stderr).toMatch(TEST_MODE === 'engine' ? /face closing; the engine keeps running/ : /shutting down/);
  });

  it('shuts down cleanly on SIGTERM', async () => {
    const env = testEnv({ SWITCHBOARD_LOG_LEVEL: 'info' });
    const child = spawn(process.execPath, [CLI, 'serve'], { env: serveEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    stopEngineAtEnd(env.SWITCHBOARD_DATA_DIR);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) => child.stderr.on('data', () => stderr.includes('switchboard ready') && resolve()));
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(stderr).toMatch(/"reason":"SIGTERM"/);
  });

  it('refuses bad configuration with one line per problem and a non-zero exit', () => {
    const r = spawnSync(process.execPath, [CLI, 'serve'], {
      env: { PATH: process.env.PATH ?? '', ...testEnv({ SWITCHBOARD_HTTP_PORT: 'eighty', SWITCHBOARD_PROVIDER: 'carrier-pigeon', SWITCHBOARD_FROM_NUMBER: '555' }) },
      input: '',
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.includes('SWITCHBOARD_HTTP_PORT'))).toMatch(/got "eighty"/);
    expect(lines.find((l) => l.includes('SWITCHBOARD_PROVIDER'))).toMatch(/sim|twilio|telnyx/);
    expect(lines.find((l) => l.includes('SWITCHBOARD_FROM_NUMBER'))).toMatch(/E.164/);
  });

  it('refuses to start a real carrier without its webhook verification key', () => {
    const env = testEnv({
      SWITCHBOARD_PROVIDER: 'telnyx',
      TELNYX_API_KEY: 'KEY0123456789abcdef',
      TELNYX_CONNECTION_ID: 'conn',
      SWITCHBOARD_PUBLIC_URL: 'https://example.test',
      SWITCHBOARD_FROM_NUMBER: '+15550100000',
    });
    const r = spawnSync(process.execPath, [CLI, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env }, input: '', encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('switchboard: TELNYX_PUBLIC_KEY: is required to verify Telnyx webhooks (Portal → Account settings → Keys & Credentials → Public Key)');
  });

  it('caps webhook bodies: an oversized delivery gets 413 and is not read', async () => {
    const port = await freePort();
    const server = await spawnServer(
      testEnv({
        SWITCHBOARD_HTTP_PORT: String(port),
        SWITCHBOARD_PROVIDER: 'twilio',
        TWILIO_ACCOUNT_SID: `AC${'ab'.repeat(16)}`,
        TWILIO_AUTH_TOKEN: '0123456789abcdef0123456789abcdef',
        SWITCHBOARD_PUBLIC_URL: `http://127.0.0.1:${port}`,
        SWITCHBOARD_FROM_NUMBER: '+15550100000',
      }),
    );
    try {
      const res = await fetch(`http://127.0.0.1:${port}/webhooks/twilio/sms`, { method: 'POST', body: 'x'.repeat(200_000) });
      expect(res.status).toBe(413);
      expect((await fetch(`http://127.0.0.1:${port}/nowhere`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it.runIf(TEST_MODE === 'engine')('two faces on one data dir share one engine and its store', async () => {
    const env = testEnv({ SWITCHBOARD_LOG_LEVEL: 'info' });
    const first = await spawnServer(env);
    const second = await spawnServer(env);
    try {
      await first.call('create_mission', { name: 'Shared', instructions: 'x' });
      expect((await second.call('get_mission', { mission_id: 'shared' })).status).toBe('active');
      const engines = [first.stderr(), second.stderr()].map((s) => /"engine":"(http:[^"]+)"/.exec(s)?.[1]);
      expect(engines[0]).toMatch(/^http:/);
      expect(engines[1]).toBe(engines[0]);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it.runIf(TEST_MODE === 'embedded')('a second embedded server on the same data dir refuses, naming the one running', async () => {
    const env = testEnv();
    const first = await spawnServer(env);
    try {
      const second = spawnSync(process.execPath, [CLI, 'serve'], { env: serveEnv(env), input: '', encoding: 'utf8' });
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`another Switchboard engine already runs for .* \\(pid ${first.pid}, http://127\\.0\\.0\\.1:\\d+\\)`));
    } finally {
      await first.close();
    }
  });

  it('answers GET /healthz on the sidecar with version and store status', async () => {
    const port = await freePort();
    const server = await spawnServer(testEnv({ SWITCHBOARD_HTTP_PORT: String(port) }));
    try {
      const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
      expect(health).toMatchObject({ ok: true, provider: 'sim', store: { open: true, schema_version: SCHEMA_VERSION } });
      expect(health.version).toMatch(/^\d+\.\d+\.\d+/);
    } finally {
      await server.close();
    }
  });
});

describe('the other commands', () => {
  it('switchboard demo runs a whole mission and prints the report', () => {
    // The demo keeps its throwaway store under the system temp dir; point that at one this test removes.
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: tempDir(), SWITCHBOARD_SIM_TIME_SCALE: '0.01' };
    const r = spawnSync(process.execPath, [CLI, 'demo'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    for (const heading of ['Steps', 'Messages', 'Insights']) expect(r.stdout).toContain(`\n${heading}\n`);
    expect(r.stdout).toMatch(/Call to Second Try Roofing \+15550100006: COMPLETED \(attempts: busy → completed/);
    expect(r.stdout).toMatch(/Call to Summit Roofing \+15550100004: VOICEMAIL/);
    expect(r.stdout).toContain('Agent : (pressed 0)');
    expect(r.stdout).toMatch(/Ace Roofing\s+all_fields_collected\s+\$450/);
    expect(r.stdout).toMatch(/Mission SUCCEEDED/);
    // The campaign: Peak is the cheapest with the longest warranty; Summit's voicemail is not ranked.
    expect(r.stdout).toMatch(/\nCampaign ranking\n  1\. Peak Roofing Co\s+score 3\.00 of 3 /);
    expect(r.stdout).toMatch(/Campaign SUCCEEDED: 5 target\(s\): .*Winner: Peak Roofing Co \(\+15550100005\)/);
  });

  it('switchboard doctor says what is wrong and how to fix it', () => {
    const ok = spawnSync(process.execPath, [CLI, 'doctor'], { env: { PATH: process.env.PATH ?? '', ...testEnv() }, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`✓ database: .*schema ${SCHEMA_VERSION} of ${SCHEMA_VERSION}`));
    const bad = spawnSync(process.execPath, [CLI, 'doctor'], {
      env: { PATH: process.env.PATH ?? '', ...testEnv({ SWITCHBOARD_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}` }) },
      encoding: 'utf8',
    });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/✗ config: TWILIO_AUTH_TOKEN: is required/);
    expect(bad.stdout).toMatch(/✗ config: SWITCHBOARD_PUBLIC_URL: is required/);
  });
});
