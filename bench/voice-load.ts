/**
 * The far ends of N bridged calls, in their own processes so the bridge's CPU is measured alone:
 *   `model`   — a realtime API that echoes every appended audio chunk back as an audio delta, at once, and
 *               answers the opening response.create with one chunk (a model that answers instantly);
 *   `carrier` — N Twilio media streams sending a 20 ms frame every 20 ms, echoing marks, and timing each frame
 *               from its send to its echo coming back through the bridge (the frame's first 4 bytes are its number).
 * Protocol: the child prints one JSON line when ready, and (carrier) one JSON line of results when done.
 *
 * Both speak WebSocket over plain sockets with the few lines of RFC 6455 they need (text frames, unfragmented),
 * not through a WebSocket library: two processes doing the bridge's work again at its own cost would share its two
 * cores and time mostly themselves. One timer drives every caller, frames are read where they lie in the buffer,
 * and whatever one read calls for goes out in one write.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

const role = process.argv[2];

// --- framing ---------------------------------------------------------------------------------------

/** XORs a client frame's payload with its key: bufferutil (native, ws's own) when installed. */
const unmask: (payload: Buffer, key: Buffer) => void = (() => {
  try {
    const native = createRequire(import.meta.url)('bufferutil') as { unmask(buffer: Buffer, mask: Buffer): void };
    return (payload: Buffer, key: Buffer) => native.unmask(payload, key);
  } catch {
    return (payload: Buffer, key: Buffer) => {
      for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
    };
  }
})();

/** Splits a socket's bytes into frames, keeping a partial one for the next read; `onText` gets each text payload. */
function frameReader(onText: (payload: Buffer) => void, onClose: () => void): (chunk: Buffer) => void {
  let pending: Buffer | undefined;
  return (chunk) => {
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (buf.length - at < 2) break;
      const opcode = buf[at]! & 0x0f;
      const masked = (buf[at + 1]! & 0x80) !== 0;
      let length = buf[at + 1]! & 0x7f;
      let p = at + 2;
      if (length === 126) {
        if (buf.length < p + 2) break;
        length = buf.readUInt16BE(p);
        p += 2;
      } else if (length === 127) {
        if (buf.length < p + 8) break;
        length = Number(buf.readBigUInt64BE(p));
        p += 8;
      }
      const key = p;
      if (masked) p += 4;
      if (buf.length < p + length) break;
      const payload = buf.subarray(p, p + length);
      if (masked) unmask(payload, buf.subarray(key, key + 4));
      at = p + length;
      if (opcode === 1) onText(payload);
      else if (opcode === 8) return onClose();
    }
    pending = at < buf.length ? buf.subarray(at) : undefined;
  };
}

/** A frame's header for a text payload of `length` bytes; a client's is masked, here with the all-zero key (the payload then goes as is). */
function frameHead(length: number, masked: boolean): Buffer {
  const head = Buffer.alloc((length < 126 ? 2 : 4) + (masked ? 4 : 0));
  head[0] = 0x81;
  if (length < 126) head[1] = length;
  else {
    head[1] = 126;
    head.writeUInt16BE(length, 2);
  }
  if (masked) head[1] |= 0x80;
  return head;
}

/** One text frame (every text these fakes send is ASCII). */
function textFrame(text: string, masked: boolean): Buffer {
  const head = frameHead(text.length, masked);
  const frame = Buffer.allocUnsafe(head.length + text.length);
  head.copy(frame);
  frame.write(text, head.length, 'latin1');
  return frame;
}

const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;

/** Writes what one read produced in one syscall. */
function flush(socket: Socket, out: Buffer[]): void {
  if (out.length === 1) socket.write(out[0]!);
  else if (out.length > 1) socket.write(Buffer.concat(out));
  out.length = 0;
}

// --- the model ---------------------------------------------------------------------------------------

if (role === 'model') {
  const APPEND = '{"type":"input_audio_buffer.append"';
  const AUDIO_KEY = '"audio":"';
  const greeting = Buffer.alloc(160, 0xff).toString('base64');
  const server = createServer((_req, res) => res.writeHead(426).end());
  let n = 0;
  server.on('upgrade', (req, socket: Socket) => {
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.setNoDelay(true);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const id = ++n;
    let chunk = 0;
    const out: Buffer[] = [textFrame(JSON.stringify({ type: 'session.created', session: { type: 'realtime' } }), false)];
    flush(socket, out);
    const deltaHead = (event: number) => `{"type":"response.output_audio.delta","event_id":"event_${id}_${event}","response_id":"resp_${id}","item_id":"item_${id}","output_index":0,"content_index":0,"delta":"`;
    const read = frameReader(
      (payload) => {
        if (payload.length > APPEND.length && payload.toString('latin1', 0, APPEND.length) === APPEND) {
          // The delta frame is built around the appended audio's bytes: no string is made of the audio.
          const from = payload.indexOf(AUDIO_KEY, APPEND.length, 'latin1') + AUDIO_KEY.length;
          const audio = payload.subarray(from, payload.lastIndexOf(0x22)); // up to the closing quote
          const head = deltaHead(++chunk);
          const length = head.length + audio.length + 2;
          const prefix = frameHead(length, false);
          const frame = Buffer.allocUnsafe(prefix.length + length);
          prefix.copy(frame);
          frame.write(head, prefix.length, 'latin1');
          audio.copy(frame, prefix.length + head.length);
          frame.write('"}', prefix.length + head.length + audio.length, 'latin1');
          out.push(frame);
          return;
        }
        const event = JSON.parse(payload.toString()) as { type: string };
        if (event.type === 'session.update') out.push(textFrame(JSON.stringify({ type: 'session.updated', session: {} }), false));
        else if (event.type === 'response.create') {
          out.push(textFrame(JSON.stringify({ type: 'response.created', response: { id: `resp_${id}` } }), false));
          out.push(textFrame(`${deltaHead(0)}${greeting}"}`, false));
        }
      },
      () => {
        socket.end(Buffer.from([0x88, 0x00]));
      },
    );
    socket.on('data', (data: Buffer) => {
      read(data);
      flush(socket, out);
    });
    socket.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ url: `ws://127.0.0.1:${(server.address() as { port: number }).port}/v1/realtime` })));
  // Each line on stdin asks for this process's CPU time so far; the end of stdin ends it.
  createInterface({ input: process.stdin })
    .on('line', () => console.log(JSON.stringify({ cpuMs: cpuMs(process.cpuUsage()) })))
    .on('close', () => process.exit(0));
}

// --- the callers -------------------------------------------------------------------------------------

type Caller = { i: number; socket: Socket; streamSid: string; startedAt: number; phase: number; seq: number; sentAt: number[]; gotFirst: boolean; out: Buffer[] };

if (role === 'carrier') {
  const { url, tokens, seconds } = JSON.parse(process.argv[3]!) as { url: string; tokens: string[]; seconds: number };
  const target = new URL(url);
  const latencies: number[] = [];
  const firstAudio: number[] = [];
  let sent = 0;
  let echoed = 0;
  const callers: Caller[] = [];
  // A frame is 160 bytes of μ-law: its number (4 bytes), a tag, then 0xff. Split at byte 6 (a multiple of 3), its
  // base64 is the head's 8 characters followed by a tail that never changes.
  const tail = Buffer.alloc(154, 0xff).toString('base64');
  const head = Buffer.alloc(6, 0xff);
  head[4] = 0x7e;

  const send = (c: Caller) => {
    head.writeUInt32BE(c.seq, 0);
    c.sentAt[c.seq] = performance.now();
    const seq = c.seq++;
    c.socket.write(textFrame(`{"event":"media","sequenceNumber":"${seq + 2}","media":{"track":"inbound","chunk":"${seq + 1}","timestamp":"${seq * 20}","payload":"${head.toString('base64')}${tail}"},"streamSid":"${c.streamSid}"}`, true));
    sent++;
  };

  const onText = (c: Caller, payload: Buffer) => {
    const kind = payload.toString('latin1', 0, 16);
    if (kind === '{"event":"media"') {
      const at = payload.indexOf('"payload":"', 16, 'latin1') + 11;
      const number = Buffer.from(payload.toString('latin1', at, at + 8), 'base64');
      if (!c.gotFirst) {
        c.gotFirst = true;
        firstAudio.push(performance.now() - c.startedAt);
        return;
      }
      const seq = number.readUInt32BE(0);
      if (number[4] === 0x7e && c.sentAt[seq] !== undefined) {
        latencies.push(performance.now() - c.sentAt[seq]!);
        echoed++;
      }
    } else if (kind.startsWith('{"event":"mark"')) {
      const text = payload.toString('latin1');
      c.out.push(textFrame(`{"event":"mark","streamSid":"${c.streamSid}","mark":${text.slice(text.indexOf('"mark":') + 7, -1)}}`, true));
    }
  };

  const open = (token: string, i: number) =>
    new Promise<void>((resolve, reject) => {
      const socket = connect({ host: target.hostname, port: Number(target.port), noDelay: true });
      const c: Caller = { i, socket, streamSid: `MZ${i}`, startedAt: 0, phase: i % 20, seq: 0, sentAt: [], gotFirst: false, out: [] };
      let handshake: Buffer | undefined = Buffer.alloc(0);
      const read = frameReader(
        (payload) => onText(c, payload),
        () => socket.destroy(),
      );
      socket.on('connect', () => {
        socket.write(`GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      socket.on('data', (data: Buffer) => {
        if (handshake) {
          handshake = Buffer.concat([handshake, data]);
          const end = handshake.indexOf('\r\n\r\n');
          if (end < 0) return;
          if (!handshake.toString('latin1', 0, 12).startsWith('HTTP/1.1 101')) return reject(new Error(`upgrade refused: ${handshake.toString('latin1', 0, end)}`));
          const rest = handshake.subarray(end + 4);
          handshake = undefined;
          socket.write(Buffer.concat([
            textFrame(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }), true),
            textFrame(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid: c.streamSid, start: { streamSid: c.streamSid, callSid: `CA${i}`, customParameters: { token } } }), true),
          ]));
          c.startedAt = performance.now();
          callers.push(c);
          resolve();
          if (rest.length) read(rest);
        } else read(data);
        flush(socket, c.out);
      });
      socket.on('error', (err) => (handshake ? reject(err) : socket.destroy()));
    });

  // One timer for every caller: each sends its frame every 20 ms on a drift-free schedule, the callers spread over
  // the 20 ms by their number (as real calls are, each on its own clock), the first frame 20 ms after its start.
  const timer = setInterval(() => {
    const now = performance.now();
    for (const c of callers) {
      while (c.startedAt + c.phase + (c.seq + 1) * 20 <= now) send(c);
    }
  }, 1);

  const t0 = performance.now();
  // A few hundred connections at a time, so none is lost to the listen backlog.
  for (let from = 0; from < tokens.length; from += 200) await Promise.all(tokens.slice(from, from + 200).map((token, k) => open(token, from + k)));
  console.log(JSON.stringify({ ready: true, connectMs: performance.now() - t0 }));
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(timer);
  const cpu = cpuMs(process.cpuUsage(cpu0));
  for (const c of callers) c.socket.end(Buffer.from([0x88, 0x80, 0, 0, 0, 0]));
  const steady = latencies.slice(Math.floor(latencies.length / 5)).sort((x, y) => x - y);
  const pick = (xs: number[], p: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)]! : NaN);
  firstAudio.sort((x, y) => x - y);
  const result = { cpuMs: cpu, sent, echoed, p50: pick(steady, 0.5), p99: pick(steady, 0.99), firstP50: pick(firstAudio, 0.5), firstP99: pick(firstAudio, 0.99) };
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}
