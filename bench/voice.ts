import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { WebSocket, WebSocketServer } from 'ws';
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
 * process's CPU per bridged call-second, its memory per call, and what the two far ends cost meanwhile.
 */
export async function benchVoice(sizes = [100, 250, 500, 1000]): Promise<Row[]> {
  const rows: Row[] = [];
  // The peer the issue names: a plain ws relay that parses and re-serialises every frame, at the first size.
  const peer = await runOnce(sizes[0]!, 'naive');
  const ours = await runOnce(sizes[0]!, 'switchboard');
  rows.push({ metric: `voice, ${sizes[0]} calls: CPU per call-second, plain ws relay parsing every frame (peer)`, value: peer.cpuMsPerCallSecond, unit: 'ms', target: '—' });
  rows.push({ metric: `voice, ${sizes[0]} calls: CPU per call-second, Switchboard's bridge / plain relay`, value: ours.cpuMsPerCallSecond / peer.cpuMsPerCallSecond, unit: '×', target: '< 1' });
  let largestOk = 0;
  for (const n of sizes) {
    const r = await runOnce(n);
    const p99 = r.p99;
    if (p99 <= 5 && r.echoed > 0) largestOk = n;
    rows.push({ metric: `voice bridge, ${n} calls: frame round trip caller→bridge→model→bridge→caller`, p50: r.p50, p99, unit: 'ms', target: 'p99 ≤ 5 ms' });
    rows.push({ metric: `voice bridge, ${n} calls: CPU of the bridge process per call-second`, value: r.cpuMsPerCallSecond, unit: 'ms', target: '≤ 1 ms' });
    rows.push({ metric: `voice bridge, ${n} calls: memory per live call (JS heap + buffers)`, value: r.memoryPerCallKb, unit: 'KiB', target: '—' });
    // The far ends share the machine with the bridge: once the three need more than its cores, the round trip is queueing.
    rows.push({ metric: `voice bridge, ${n} calls: CPU of the fake carrier + model per call-second (load, not bridge)`, value: r.fakesCpuMsPerCallSecond, unit: 'ms', target: '—' });
    if (n === sizes[0]) rows.push({ metric: 'voice: stream start → first agent audio frame (model answers at once)', p50: r.firstP50, p99: r.firstP99, unit: 'ms', target: '≤ 20 ms' });
  }
  rows.push({ metric: 'voice bridge: largest N measured with frame round trip p99 ≤ 5 ms', value: largestOk, unit: 'calls', target: '≥ 1000' });
  return rows;
}

type LoadResult = { sent: number; echoed: number; p50: number; p99: number; firstP50: number; firstP99: number };
type Measured = LoadResult & { cpuMsPerCallSecond: number; fakesCpuMsPerCallSecond: number; memoryPerCallKb: number };

async function runOnce(n: number, bridge: 'switchboard' | 'naive' = 'switchboard'): Promise<Measured> {
  const model = child(['model']);
  const { url: modelUrl } = await next<{ url: string }>(model);
  if (bridge === 'naive') return naiveRun(n, model, modelUrl);
  const memoryBefore = heldMemory();
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
  const result = await drive(`${sidecar.url.replace('http', 'ws')}/media/twilio`, tokens, memoryBefore, model);
  voice.stop();
  await sidecar.close();
  model.proc.stdin!.end();
  await exited(model.proc);
  return result;
}

/** Runs the callers against `url` and measures this process meanwhile. */
async function drive(url: string, tokens: string[], memoryBefore: number, model: Child): Promise<Measured> {
  const carrier = child(['carrier', JSON.stringify({ url, tokens, seconds: SECONDS })]);
  await next(carrier); // ready: every stream started
  const modelCpu0 = await cpuMsOf(model);
  // CPU from here to the end: every call is streaming. (Measured from a second later, a saturated bridge whose
  // timer fired after the callers had finished measured nothing.)
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  // What N live calls hold, sampled a second in (after the flurry of connections).
  let memoryPerCallKb = NaN;
  const sample = setTimeout(() => (memoryPerCallKb = Math.max(0, heldMemory() - memoryBefore) / 1024 / tokens.length), 1000);
  const result = await next<LoadResult & { cpuMs: number }>(carrier);
  const cpu = process.cpuUsage(cpu0);
  const wallSeconds = (performance.now() - wall0) / 1000;
  clearTimeout(sample);
  const fakesCpuMs = result.cpuMs + (await cpuMsOf(model)) - modelCpu0;
  await exited(carrier.proc);
  // A call-second is 50 frames each way; counted from the frames the callers really sent, so a saturated load
  // generator (sending fewer) does not flatter the bridge.
  const callSeconds = Math.min(tokens.length * wallSeconds, result.sent / 50);
  return { ...result, cpuMsPerCallSecond: (cpu.user + cpu.system) / 1000 / callSeconds, fakesCpuMsPerCallSecond: fakesCpuMs / callSeconds, memoryPerCallKb };
}

/**
 * A plain relay, the way most published bridges are written: every frame JSON.parse'd and re-serialised with
 * JSON.stringify, a mark after every chunk. Same callers, same model, same measurement.
 */
async function naiveRun(n: number, model: Child, modelUrl: string): Promise<Measured> {
  const memoryBefore = heldMemory();
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  server.on('connection', (carrier) => {
    let upstream: WebSocket | undefined;
    let streamSid = '';
    let marks = 0;
    carrier.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { event: string; streamSid?: string; media?: { payload: string } };
      if (frame.event === 'start') {
        streamSid = frame.streamSid ?? '';
        upstream = new WebSocket(modelUrl, { headers: { Authorization: 'Bearer sk-bench' } });
        upstream.on('message', (raw) => {
          const event = JSON.parse(raw.toString()) as { type: string; delta?: string };
          if (event.type === 'session.created') upstream!.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime' } }));
          else if (event.type === 'session.updated') upstream!.send(JSON.stringify({ type: 'response.create' }));
          else if (event.type === 'response.output_audio.delta') {
            carrier.send(JSON.stringify({ event: 'media', streamSid, media: { payload: event.delta } }));
            carrier.send(JSON.stringify({ event: 'mark', streamSid, mark: { name: `m${++marks}` } }));
          }
        });
      } else if (frame.event === 'media' && upstream?.readyState === WebSocket.OPEN) {
        upstream.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: frame.media!.payload }));
      }
    });
    carrier.on('close', () => upstream?.close());
  });
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as { port: number }).port;
  const result = await drive(`ws://127.0.0.1:${port}/`, Array.from({ length: n }, (_, i) => `t${i}`), memoryBefore, model);
  for (const ws of server.clients) ws.terminate();
  await new Promise((resolve) => server.close(resolve));
  model.proc.stdin!.end();
  await exited(model.proc);
  return result;
}

/** Memory JavaScript holds (heap, and the buffers outside it): RSS would show what earlier runs left with the OS. */
function heldMemory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

/** A far end's process, and the JSON lines it prints. */
type Child = { proc: ChildProcess; out: AsyncGenerator<unknown> };

function child(args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', LOAD, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  return { proc, out: lines(proc) };
}

async function next<T = unknown>(c: Child): Promise<T> {
  return (await c.out.next()).value as T;
}

/** The fake model's CPU time so far (it answers a line on its stdin). */
async function cpuMsOf(model: Child): Promise<number> {
  model.proc.stdin!.write('cpu\n');
  return (await next<{ cpuMs: number }>(model)).cpuMs;
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
