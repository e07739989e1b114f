import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FakeRealtimeModel, type FakeRealtimeOptions } from './fakes/realtime-model.js';
import { FRAME_BYTES, decodeSpeech, encodeSpeech, silence } from './fakes/speech-code.js';

// The fake driven the way any client would drive the real service: a raw WebSocket and JSON events.

// Wire JSON, read field by field in assertions.
type Ev = { type: string; [field: string]: any };

const AUTH = { Authorization: 'Bearer sk-test-fake' };
const PCMU = { type: 'audio/pcmu' };
const TOOLS = [
  {
    type: 'function',
    name: 'report_call',
    parameters: {
      type: 'object',
      properties: { outcome: { type: 'string' }, summary: { type: 'string' }, fields: { type: 'object', properties: { price_quote: { type: 'string' }, availability: { type: 'string' } } } },
      required: ['outcome', 'summary', 'fields'],
    },
  },
  { type: 'function', name: 'send_dtmf', parameters: { type: 'object', properties: { digits: { type: 'string' } }, required: ['digits'] } },
  { type: 'function', name: 'end_call', parameters: { type: 'object', properties: { reason: { type: 'string' } }, required: [] } },
];
const PHONE_SESSION = {
  type: 'realtime',
  instructions: 'You are calling a plumber for a quote.',
  audio: {
    input: { format: PCMU, turn_detection: { type: 'server_vad', silence_duration_ms: 500 }, transcription: { model: 'gpt-4o-mini-transcribe' } },
    output: { format: PCMU, voice: 'marin' },
  },
  tools: TOOLS,
  tool_choice: 'auto',
};

class RawClient {
  readonly events: Ev[] = [];
  private cursor = 0;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.events.push(JSON.parse(data.toString()) as Ev));
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(url: string, headers: Record<string, string> = AUTH): Promise<RawClient> {
    const client = new RawClient(new WebSocket(url, { headers }));
    await new Promise((resolve, reject) => client.ws.once('open', resolve).once('error', reject));
    clients.push(client);
    return client;
  }

  send(event: object): void {
    this.ws.send(JSON.stringify(event));
  }

  /** Appends audio in 20 ms frames, as a carrier bridge forwards them. */
  append(audio: Buffer): void {
    for (let i = 0; i < audio.length; i += FRAME_BYTES) this.send({ type: 'input_audio_buffer.append', audio: audio.subarray(i, i + FRAME_BYTES).toString('base64') });
  }

  /** The next event of `type` (matching `match`) after the last one returned; waits for it. */
  next(type: string, match: (e: Ev) => boolean = () => true, timeoutMs = 3_000): Promise<Ev> {
    return new Promise((resolve, reject) => {
      const look = (): boolean => {
        const i = this.events.findIndex((e, n) => n >= this.cursor && e.type === type && match(e));
        if (i < 0) return false;
        this.cursor = i + 1;
        done();
        resolve(this.events[i]);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${type} within ${timeoutMs} ms; got ${this.events.slice(this.cursor).map((e) => e.type).join(', ')}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.ws.off('message', look);
      };
      if (!look()) this.ws.on('message', look);
    });
  }

  /** One whole response: its events (from response.created to response.done) and the speech its audio carries. */
  async response(): Promise<{ events: Ev[]; done: Ev; audio: Buffer; heard: string[] }> {
    const created = await this.next('response.created');
    const done = await this.next('response.done');
    const events = this.events.slice(this.events.indexOf(created), this.events.indexOf(done) + 1).filter((e) => !e.type.startsWith('conversation.item.input_audio'));
    const audio = Buffer.concat(events.filter((e) => e.type === 'response.output_audio.delta').map((e) => Buffer.from(e.delta as string, 'base64')));
    return { events, done, audio, heard: decodeSpeech(audio) };
  }
}

const clients: RawClient[] = [];
const models: FakeRealtimeModel[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  for (const m of models.splice(0)) await m.close();
});

async function startModel(opts: FakeRealtimeOptions = {}): Promise<FakeRealtimeModel> {
  const model = await FakeRealtimeModel.start(opts);
  models.push(model);
  return model;
}

/** Connects and configures a phone-agent session; resolves once session.updated has arrived. */
async function phoneSession(model: FakeRealtimeModel, session: object = PHONE_SESSION): Promise<RawClient> {
  const client = await RawClient.open(`${model.url}?model=gpt-realtime`);
  await client.next('session.created');
  client.send({ type: 'session.update', session });
  await client.next('session.updated');
  return client;
}

/** Why a refused upgrade was refused: its HTTP status and JSON body. */
function refusal(url: string, headers: Record<string, string>): Promise<{ status: number; body: Ev }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => {});
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) as Ev }));
    });
  });
}

describe('connection and session', () => {
  it('creates a GA session and answers session.update with the effective config', async () => {
    const model = await startModel();
    const client = await RawClient.open(`${model.url}?model=gpt-realtime-2.1`);
    const created = await client.next('session.created');
    expect(created.event_id).toMatch(/^event_/);
    expect(created.session).toMatchObject({ type: 'realtime', model: 'gpt-realtime-2.1', audio: { input: { format: { type: 'audio/pcm' } } } });

    client.send({ type: 'session.update', session: PHONE_SESSION });
    const updated = await client.next('session.updated');
    expect(updated.session).toMatchObject({
      type: 'realtime',
      model: 'gpt-realtime-2.1',
      instructions: PHONE_SESSION.instructions,
      tools: TOOLS,
      audio: {
        input: { format: PCMU, transcription: { model: 'gpt-4o-mini-transcribe' }, turn_detection: { type: 'server_vad', silence_duration_ms: 500, create_response: true, interrupt_response: true } },
        output: { format: PCMU, voice: 'marin' },
      },
    });

    // Only the fields present change.
    client.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Be brief.' } });
    expect((await client.next('session.updated')).session).toMatchObject({ instructions: 'Be brief.', tools: TOOLS, audio: { output: { format: PCMU } } });

    client.send({ type: 'session.update', event_id: 'evt_pcm', session: { type: 'realtime', audio: { output: { format: { type: 'audio/pcm', rate: 24000 } } } } });
    expect((await client.next('error')).error).toMatchObject({ type: 'invalid_request_error', param: 'session.audio.output.format', event_id: 'evt_pcm' });

    const session = await model.waitFor(() => model.sessions[0]);
    expect(session.headers.authorization).toBe('Bearer sk-test-fake');
    expect(session.sessionUpdates).toHaveLength(3);
    expect(session.clientEvents.map((e) => e.type)).toEqual(['session.update', 'session.update', 'session.update']);
  });

  it('rejects the beta shape, by header or by session fields, with beta_api_shape_disabled and close 4000', async () => {
    const model = await startModel();
    const byHeader = await RawClient.open(model.url, { ...AUTH, 'OpenAI-Beta': 'realtime=v1' });
    expect((await byHeader.next('error')).error).toMatchObject({ type: 'invalid_request_error', code: 'beta_api_shape_disabled' });
    expect((await byHeader.closed).code).toBe(4000);
    expect(byHeader.events.map((e) => e.type)).toEqual(['error']);

    const byShape = await RawClient.open(model.url);
    await byShape.next('session.created');
    byShape.send({ type: 'session.update', session: { modalities: ['text', 'audio'], input_audio_format: 'g711_ulaw', voice: 'alloy' } });
    expect((await byShape.next('error')).error.code).toBe('beta_api_shape_disabled');
    expect((await byShape.closed).code).toBe(4000);
    await model.waitFor(() => model.sessions[1]?.closed);
    expect(model.sessions[1].closeCode).toBe(4000);
  });

  it('refuses an upgrade without the right bearer key, or every upgrade when told to', async () => {
    const model = await startModel();
    const wrong = await refusal(model.url, { Authorization: 'Bearer sk-wrong' });
    expect(wrong).toMatchObject({ status: 401, body: { error: { code: 'invalid_api_key' } } });
    expect((await refusal(model.url, {})).status).toBe(401);
    model.refuse = 429;
    expect(await refusal(model.url, AUTH)).toMatchObject({ status: 429, body: { error: { code: 'rate_limit_exceeded' } } });
    model.refuse = 500;
    expect((await refusal(model.url, AUTH)).status).toBe(500);
    expect(model.sessions).toHaveLength(0);
  });
});

describe('a phone call through the default brain', () => {
  it('greets, presses through the IVR, asks each field, reports and ends the call', async () => {
    const model = await startModel();
    const client = await phoneSession(model);

    client.send({ type: 'response.create', response: { instructions: 'Open with exactly "Hi, this is an AI assistant calling for Acme."' } });
    const greeting = await client.response();
    expect(greeting.heard).toEqual(['Hi, this is an AI assistant calling for Acme. What is your price quote?']);
    // The real ordering (reference §3.5, item 3), with the deltas collapsed.
    const order = greeting.events.map((e) => e.type).filter((t, i, all) => !t.endsWith('.delta') || all[i - 1] !== t);
    expect(order.filter((t) => !t.endsWith('.delta'))).toEqual([
      'response.created',
      'response.output_item.added',
      'conversation.item.added',
      'response.content_part.added',
      'response.output_audio.done',
      'response.output_audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
    ]);
    const deltas = greeting.events.filter((e) => e.type === 'response.output_audio.delta');
    expect(deltas.length).toBeGreaterThan(20); // 100 ms each
    expect(deltas[0]).toMatchObject({ response_id: greeting.done.response.id, output_index: 0, content_index: 0 });
    const transcript = greeting.events.filter((e) => e.type === 'response.output_audio_transcript.delta').map((e) => e.delta as string).join('');
    expect(transcript).toBe('Hi, this is an AI assistant calling for Acme. What is your price quote?');
    expect(greeting.done.response).toMatchObject({ status: 'completed', output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_audio', transcript }] }] });
    await client.next('rate_limits.updated');

    // The callee's side is an IVR menu: 200 ms of silence, the prompt, then enough silence to end the turn.
    client.append(Buffer.concat([silence(200), encodeSpeech('For sales press 2'), silence(600)]));
    const started = await client.next('input_audio_buffer.speech_started');
    expect(started.audio_start_ms).toBe(200);
    const stopped = await client.next('input_audio_buffer.speech_stopped');
    expect(stopped).toMatchObject({ item_id: started.item_id, audio_end_ms: 200 + 1020 + 500 });
    const committed = await client.next('input_audio_buffer.committed');
    expect(committed).toMatchObject({ item_id: started.item_id, previous_item_id: greeting.done.response.output[0].id });
    expect((await client.next('conversation.item.added')).item).toMatchObject({ id: started.item_id, role: 'user', content: [{ type: 'input_audio' }] });
    const dtmf = await client.response();
    const call = dtmf.events.find((e) => e.type === 'response.function_call_arguments.done')!;
    expect(call).toMatchObject({ name: 'send_dtmf', arguments: '{"digits":"2"}', call_id: expect.stringMatching(/^call_/) });
    expect(dtmf.events.map((e) => e.type)).toEqual([
      'response.created',
      'response.output_item.added',
      'conversation.item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
    ]);
    expect((await client.next('conversation.item.input_audio_transcription.completed')).transcript).toBe('For sales press 2');

    // After the keypress the agent waits for the person.
    client.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: call.call_id, output: '{"ok":true}' } });
    client.send({ type: 'response.create' });
    await client.next('conversation.item.done', (e) => e.item.type === 'function_call_output');
    // A keypress notice is noted, and answered by nothing until a response.create asks.
    client.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'The callee pressed 5' }] } });
    await client.next('conversation.item.done', (e) => e.item.role === 'user' && e.item.content[0].type === 'input_text');
    const session = model.sessions[0];
    expect(session.clientEvents).toHaveLength(5);
    expect(session.responses).toHaveLength(2);
    expect(session.heard).toEqual(['For sales press 2', 'The callee pressed 5']);

    const answer = async (words: string): Promise<Awaited<ReturnType<RawClient['response']>>> => {
      client.append(Buffer.concat([encodeSpeech(words), silence(500)]));
      return client.response();
    };
    expect((await answer('About forty dollars')).heard).toEqual(['What is your availability?']);
    const report = await answer('Tomorrow morning');
    const reportCall = report.events.find((e) => e.type === 'response.function_call_arguments.done')!;
    expect(reportCall.name).toBe('report_call');
    expect(JSON.parse(reportCall.arguments as string)).toMatchObject({ outcome: 'completed', fields: { price_quote: 'About forty dollars', availability: 'Tomorrow morning' } });

    client.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: reportCall.call_id, output: '{"stored":true}' } });
    client.send({ type: 'response.create' });
    const goodbye = await client.response();
    expect(goodbye.heard).toEqual(['Thank you, goodbye.']);
    expect(goodbye.done.response.output.map((o: Ev) => [o.type, o.name])).toEqual([['message', undefined], ['function_call', 'end_call']]);
    expect(JSON.parse(goodbye.done.response.output[1].arguments as string)).toEqual({ reason: 'done' });

    expect(session.transcripts).toEqual(['For sales press 2', 'About forty dollars', 'Tomorrow morning']);
    expect(session.said.map((s) => s.text)).toEqual(['Hi, this is an AI assistant calling for Acme. What is your price quote?', 'What is your availability?', 'Thank you, goodbye.']);
    expect(session.said[2].ms).toBe(1140);
    expect(session.functionOutputs.map((o) => o.name)).toEqual(['send_dtmf', 'report_call']);
    expect(session.appended.bytes).toBe(Buffer.concat([silence(200), encodeSpeech('For sales press 2'), silence(600)]).length + encodeSpeech('About forty dollars').length + encodeSpeech('Tomorrow morning').length + 2 * silence(500).length);
    expect(session.clientEvents.some((e) => e.type === 'input_audio_buffer.append')).toBe(false);
  });

  it('cancels a response the callee talks over, and truncates what was not heard', async () => {
    const model = await startModel({ paceMs: 20 });
    const client = await phoneSession(model);
    client.send({ type: 'response.create', response: { instructions: 'Say "This is a long message that the callee will certainly interrupt before it ends."' } });
    const created = await client.next('response.created');
    await client.next('response.output_audio.delta');
    await client.next('response.output_audio.delta');

    client.append(encodeSpeech('Sorry, who is this?'));
    await client.next('input_audio_buffer.speech_started');
    const audioDone = await client.next('response.output_audio.done');
    const done = await client.next('response.done');
    expect(done.response).toMatchObject({ id: created.response.id, status: 'cancelled', status_details: { type: 'cancelled', reason: 'turn_detected' } });
    const sent = client.events.filter((e) => e.type === 'response.output_audio.delta');
    expect(client.events.indexOf(sent[sent.length - 1])).toBeLessThan(client.events.indexOf(audioDone));

    const said = model.sessions[0].said[0];
    expect(said.ms).toBeLessThan(said.fullMs);
    client.send({ type: 'conversation.item.truncate', item_id: audioDone.item_id, content_index: 0, audio_end_ms: said.ms + 5000 });
    expect((await client.next('error')).error.message).toBe(`Audio content of ${said.ms}ms is already shorter than ${said.ms + 5000}ms`);
    client.send({ type: 'conversation.item.truncate', item_id: audioDone.item_id, content_index: 0, audio_end_ms: 100 });
    expect(await client.next('conversation.item.truncated')).toMatchObject({ item_id: audioDone.item_id, content_index: 0, audio_end_ms: 100 });
    expect(said).toMatchObject({ truncatedMs: 100, text: said.full.slice(0, Math.ceil((said.full.length * 100) / said.fullMs)) });
    expect(model.sessions[0].truncates.map((t) => t.ok)).toEqual([false, true]);
  });

  it('answers response.cancel, and refuses a second response while one is active', async () => {
    const model = await startModel({ paceMs: 20 });
    const client = await phoneSession(model);
    client.send({ type: 'response.cancel', event_id: 'evt_idle' });
    expect((await client.next('error')).error).toMatchObject({ code: 'response_cancel_not_active', event_id: 'evt_idle' });

    client.send({ type: 'response.create' });
    await client.next('response.output_audio.delta');
    client.send({ type: 'response.create' });
    expect((await client.next('error')).error.code).toBe('conversation_already_has_active_response');
    client.send({ type: 'response.cancel' });
    expect((await client.next('response.done')).response).toMatchObject({ status: 'cancelled', status_details: { reason: 'client_cancelled' } });
  });
});

describe('failure injection', () => {
  it.each([
    ['close', undefined],
    ['error', 'server_error'],
    ['rate_limit', 'rate_limit_exceeded'],
  ] as const)('fails with %s after the first completed response', async (how, code) => {
    const model = await startModel({ paceMs: 0 });
    model.failAfter = { afterResponses: 1, how };
    model.nextBrain = () => [{ say: 'One.' }];
    const client = await phoneSession(model);
    client.send({ type: 'response.create' });
    expect((await client.response()).heard).toEqual(['One.']);
    expect((await client.closed).code).toBe(1011);
    const errors = client.events.filter((e) => e.type === 'error');
    if (code === undefined) expect(errors).toEqual([]);
    else expect(errors[0].error.type === code || errors[0].error.code === code).toBe(true);
    expect(client.events.map((e) => e.type)).toContain('rate_limits.updated');
    await model.waitFor(() => model.sessions[0].closed);
  });
});
