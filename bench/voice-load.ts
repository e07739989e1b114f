/**
 * The far ends of N bridged calls, in their own processes so the bridge's CPU is measured alone:
 *   `model`   — a realtime API that echoes every appended audio chunk back as an audio delta, at once, and
 *               answers the opening response.create with one chunk (a model that answers instantly);
 *   `carrier` — N Twilio media streams sending a 20 ms frame every 20 ms, echoing marks, and timing each frame
 *               from its send to its echo coming back through the bridge (the frame's first 4 bytes are its number).
 * Protocol: the child prints one JSON line when ready, and (carrier) one JSON line of results when done.
 */
import { WebSocket, WebSocketServer } from 'ws';

const role = process.argv[2];

if (role === 'model') {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  let n = 0;
  wss.on('connection', (ws) => {
    const id = ++n;
    let chunk = 0;
    ws.send(JSON.stringify({ type: 'session.created', session: { type: 'realtime' } }));
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('{"type":"input_audio_buffer.append"')) {
        const audio = text.slice(text.indexOf('"audio":"') + 9, text.lastIndexOf('"'));
        ws.send(`{"type":"response.output_audio.delta","event_id":"event_${id}_${++chunk}","response_id":"resp_${id}","item_id":"item_${id}","output_index":0,"content_index":0,"delta":"${audio}"}`);
        return;
      }
      const event = JSON.parse(text) as { type: string };
      if (event.type === 'session.update') ws.send(JSON.stringify({ type: 'session.updated', session: {} }));
      else if (event.type === 'response.create') {
        ws.send(JSON.stringify({ type: 'response.created', response: { id: `resp_${id}` } }));
        ws.send(`{"type":"response.output_audio.delta","event_id":"event_${id}_0","response_id":"resp_${id}","item_id":"item_${id}","output_index":0,"content_index":0,"delta":"${Buffer.alloc(160, 0xff).toString('base64')}"}`);
      }
    });
  });
  wss.on('listening', () => console.log(JSON.stringify({ url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/v1/realtime` })));
  process.stdin.on('end', () => process.exit(0)).resume();
} else if (role === 'carrier') {
  const { url, tokens, seconds } = JSON.parse(process.argv[3]!) as { url: string; tokens: string[]; seconds: number };
  const latencies: number[] = [];
  const firstAudio: number[] = [];
  let sent = 0;
  let echoed = 0;
  const sockets: WebSocket[] = [];
  const t0 = performance.now();
  await Promise.all(
    tokens.map(
      (token, i) =>
        new Promise<void>((resolve) => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          sockets.push(ws);
          const sentAt: number[] = [];
          let startedAt = 0;
          let gotFirst = false;
          ws.on('open', () => {
            ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
            startedAt = performance.now();
            ws.send(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid: `MZ${i}`, start: { streamSid: `MZ${i}`, callSid: `CA${i}`, customParameters: { token } } }));
            setTimeout(tick, 20 + (i % 20));
            resolve();
          });
          ws.on('message', (data) => {
            const text = data.toString();
            if (text.startsWith('{"event":"media"')) {
              const payload = Buffer.from(text.slice(text.indexOf('"payload":"') + 11, text.lastIndexOf('"}}')), 'base64');
              if (!gotFirst) {
                gotFirst = true;
                firstAudio.push(performance.now() - startedAt);
                return;
              }
              const seq = payload.readUInt32BE(0);
              if (payload[4] === 0x7e && sentAt[seq] !== undefined) {
                latencies.push(performance.now() - sentAt[seq]!);
                echoed++;
              }
            } else if (text.startsWith('{"event":"mark"')) {
              ws.send(`{"event":"mark","streamSid":"MZ${i}","mark":${text.slice(text.indexOf('"mark":') + 7, -1)}}`);
            }
          });
          // 20 ms frames on a drift-free schedule; the first four bytes number the frame.
          let seq = 0;
          const frame = Buffer.alloc(160, 0xff);
          const tick = () => {
            if (ws.readyState !== WebSocket.OPEN) return;
            const due = startedAt + seq * 20;
            frame.writeUInt32BE(seq, 0);
            frame[4] = 0x7e;
            sentAt[seq] = performance.now();
            ws.send(`{"event":"media","sequenceNumber":"${seq + 2}","media":{"track":"inbound","chunk":"${seq + 1}","timestamp":"${seq * 20}","payload":"${frame.toString('base64')}"},"streamSid":"MZ${i}"}`);
            sent++;
            seq++;
            setTimeout(tick, Math.max(0, due + 20 - performance.now()));
          };
        }),
    ),
  );
  console.log(JSON.stringify({ ready: true, connectMs: performance.now() - t0 }));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  for (const ws of sockets) ws.close();
  const steady = latencies.slice(Math.floor(latencies.length / 5)).sort((x, y) => x - y);
  const pick = (xs: number[], p: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)]! : NaN);
  firstAudio.sort((x, y) => x - y);
  const result = { sent, echoed, p50: pick(steady, 0.5), p99: pick(steady, 0.99), firstP50: pick(firstAudio, 0.5), firstP99: pick(firstAudio, 0.99) };
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}
