import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startSidecar } from '../src/http/server.js';
import { createLogger } from '../src/log.js';
import { twilioMediaRoute } from '../src/telephony/twilio/media-stream.js';
import { LiveVoice } from '../src/voice/live-voice.js';
import type { Row } from './util.js';

const LOAD = fileURLToPath(new URL('./voice-load.ts', import.meta.url));
const SECONDS = 6;

/**
 * The live voice bridge under load: the production bridge (LiveVoice, the Twilio media route, the sidecar) in this
 * process; N callers and the realtime model in two others. Every frame goes caller → bridge → model → bridge →
 * caller, so the round trip counts the bridge twice plus both fakes. Reported per N: that round trip's p99, this
 * process's CPU per bridged call-second, and its memory per call.
 */
export async function benchVoice(sizes = [100, 250, 500, 1000]): Promise<Row[]> {
  const rows: Row[] = [];
  let largestOk = 0;
  for (const n of sizes) {
    const r = await runOnce(n);
    const p99 = r.p99;
    if (p99 <= 5 && r.echoed > 0) largestOk = n;
    rows.push({ metric: `voice bridge, ${n} calls: frame round trip caller→bridge→model→bridge→caller`, p50: r.p50, p99, unit: 'ms', target: 'p99 ≤ 5 ms' });
    rows.push({ metric: `voice bridge, ${n} calls: CPU of the bridge process per call-second`, value: r.cpuMsPerCallSecond, unit: 'ms', target: '≤ 1 ms' });
    rows.push({ metric: `voice bridge, ${n} calls: RSS per call`, value: r.rssPerCallKb, unit: 'KiB', target: '—' });
    if (n === sizes[0]) rows.push({ metric: 'voice: stream start → first agent audio frame (model answers at once)', p50: r.firstP50, p99: r.firstP99, unit: 'ms', target: '≤ 20 ms' });
  }
  rows.push({ metric: 'voice bridge: largest N measured with frame round trip p99 ≤ 5 ms', value: largestOk, unit: 'calls', target: '≥ 1000' });
  return rows;
}

type LoadResult = { sent: number; echoed: number; p50: number; p99: number; firstP50: number; firstP99: number };

async function runOnce(n: number): Promise<LoadResult & { cpuMsPerCallSecond: number; rssPerCallKb: number }> {
  const model = child(['model']);
  const { url: modelUrl } = (await lines(model).next()).value as { url: string };
  const rssBefore = process.memoryUsage().rss;
  const voice = new LiveVoice({
    settings: { url: modelUrl, apiKey: 'sk-bench', model: 'gpt-realtime', voice: 'marin' },
    log: createLogger('error'),
    plan: () => ({ mode: 'agent', message: 'Hello', instructions: null, fields: [], voicemailMessage: null }),
    isLive: () => true,
    sink: () => ({ transcript() {}, report() {}, pressed() {}, latency() {}, failed() {} }),
  });
  const noCarrier = { hangup: async () => undefined, sayAndHangUp: async () => undefined };
  const sidecar = await startSidecar({
    host: '127.0.0.1',
    port: 0,
    log: createLogger('error'),
    routes: [],
    media: { routes: [twilioMediaRoute(noCarrier, createLogger('error'))], hub: voice },
    health: () => ({}),
    limits: { maxConnections: 10_000 },
  });
  const tokens = Array.from({ length: n }, (_, i) => voice.streamToken({ providerCallId: `CA${i}` })!);
  const carrier = child(['carrier', JSON.stringify({ url: `${sidecar.url.replace('http', 'ws')}/media/twilio`, tokens, seconds: SECONDS })]);
  const out = lines(carrier);
  await out.next(); // ready: every stream started
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const result = (await out.next()).value as LoadResult;
  const cpu = process.cpuUsage(cpu0);
  const wallSeconds = (performance.now() - wall0) / 1000;
  const rssPerCallKb = (process.memoryUsage().rss - rssBefore) / 1024 / n;
  voice.stop();
  await sidecar.close();
  model.stdin!.end();
  await Promise.all([exited(model), exited(carrier)]);
  // A call-second is 50 frames each way; counted from the frames the callers really sent, so a saturated load
  // generator (sending fewer) does not flatter the bridge.
  const callSeconds = Math.min(n * wallSeconds, result.sent / 50);
  return { ...result, cpuMsPerCallSecond: (cpu.user + cpu.system) / 1000 / callSeconds, rssPerCallKb };
}

function child(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', LOAD, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
}

async function* lines(proc: ChildProcess): AsyncGenerator<unknown> {
  for await (const line of createInterface({ input: proc.stdout! })) yield JSON.parse(line);
}

function exited(proc: ChildProcess): Promise<void> {
  return proc.exitCode !== null ? Promise.resolve() : new Promise((resolve) => proc.once('exit', () => resolve()));
}

// `node --import tsx bench/voice.ts 100,250`: only this bench, at the given sizes.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import('./util.js');
  printTable(await benchVoice(process.argv[2] ? process.argv[2].split(',').map(Number) : undefined));
}
