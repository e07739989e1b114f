import { describe, expect, it } from 'vitest';
import { CarrierError, type CallRef, type Heard, type PlaceCallRequest, type VoiceLine } from '../src/telephony/provider.js';
import { adapterHarness, OUR_NUMBER, placeCall, type AdapterHarness } from './fakes/telnyx-adapter-harness.js';
import type { EmulatedCall } from './fakes/telnyx-emulator.js';
import { until } from './helpers.js';

/**
 * The Telnyx adapter's side of conversation calls, without the core: FakeDomain's converse() runs a tiny scripted
 * conversation over the line the adapter hands it, against the emulator's text-level person (scriptConversation).
 */

const CALLER = '+12125550199';

type Harness = AdapterHarness;

const harness = (speakMs = 20) => adapterHarness({ speakMs });
const dialConversation = (h: Harness, to: string, over: Partial<PlaceCallRequest> = {}) =>
  placeCall(h, to, { mode: 'conversation', message: 'Hi, is this Nino’s?', ...over });

/**
 * What the scripted conversation did: the ref and line it got, and in order what it said (once each say resolved) and
 * heard. `speakEndedAtSay` is how many call.speak.ended the emulator had posted when each say resolved.
 */
type Conversation = { ref?: CallRef; line?: VoiceLine; log: string[]; heard: Heard[]; speakEndedAtSay: number[]; done: Promise<void> };

/** Replaces FakeDomain's converse() with `script`, run over the adapter's line with `say`/`listen` that record. */
function converse(h: Harness, script: (t: { line: VoiceLine; call: EmulatedCall; say(text: string): Promise<void>; listen(): Promise<Heard> }) => Promise<void>): Conversation {
  let finish!: () => void;
  const c: Conversation = { log: [], heard: [], speakEndedAtSay: [], done: new Promise((resolve) => (finish = resolve)) };
  h.domain.conversation = async (ref, line) => {
    c.ref = ref;
    c.line = line;
    const call = h.emulator.calls.get(ref.providerCallId)!;
    const say = async (text: string) => {
      await line.say(text);
      c.log.push(`said: ${text}`);
      c.speakEndedAtSay.push(call.timeline.filter((t) => t === 'hook:call.speak.ended').length);
    };
    const listen = async () => {
      const heard = await line.listen();
      c.heard.push(heard);
      c.log.push(heard.kind === 'speech' ? `heard: ${heard.text}` : `heard: (${heard.kind})`);
      return heard;
    };
    try {
      await script({ line, call, say, listen });
    } finally {
      finish();
    }
  };
  return c;
}

async function finished(h: Harness, callId: string) {
  const ended = await until(() => h.domain.ended(callId), `call ${callId} to end`);
  await h.emulator.settled();
  await h.provider.stop();
  return ended;
}

const verbs = (call: EmulatedCall) => call.commands.map((c) => c.verb);
const hooks = (call: EmulatedCall, hook: string) => call.timeline.filter((t) => t === `hook:${hook}`).length;

describe('telnyx conversation calls', () => {
  it('a three-turn conversation: each say plays to its end before the next, the line hears only final transcripts, in order', async () => {
    const h = await harness();
    const to = '+12125550142';
    h.emulator.scriptConversation(to, { facts: { opening_hours: 'We open at nine every morning.' }, replies: ['Yes, this is Nino’s, how can I help?'] });
    const c = converse(h, async ({ say, listen, line }) => {
      await say('Hi, this is an AI assistant calling for Sam.');
      await say('Is this Nino’s?');
      await listen();
      await say('What are your opening hours?');
      await listen();
      await say('Thank you, goodbye.');
      await line.hangup();
    });
    const { callId, call } = await dialConversation(h, to);
    const ended = await finished(h, callId);
    await c.done;

    expect(c.ref).toEqual({ providerCallId: call.id, callId, attempt: 1 });
    expect(c.line!.answeredBy).toBeNull();
    expect(c.log).toEqual([
      'said: Hi, this is an AI assistant calling for Sam.',
      'said: Is this Nino’s?',
      'heard: Yes, this is Nino’s, how can I help?',
      'said: What are your opening hours?',
      'heard: We open at nine every morning.',
      'said: Thank you, goodbye.',
    ]);
    const said = ['Hi, this is an AI assistant calling for Sam.', 'Is this Nino’s?', 'What are your opening hours?', 'Thank you, goodbye.'];
    expect(call.spoken).toEqual(said);
    expect(call.person).toEqual({ heard: said, said: ['Yes, this is Nino’s, how can I help?', 'We open at nine every morning.'] });
    // Every say resolved once its own call.speak.ended had come, none earlier.
    expect(c.speakEndedAtSay).toEqual([1, 2, 3, 4]);
    // Each reply came as two interim results and the final one; the line heard the finals only.
    expect(hooks(call, 'call.transcription')).toBe(6);
    // Telnyx recognition of the callee's track, Telnyx's engine, in English.
    expect(call.commands.find((x) => x.verb === 'transcription_start')!.body).toMatchObject({
      transcription_engine: 'Telnyx',
      transcription_engine_config: { transcription_engine: 'Telnyx', language: 'en' },
      transcription_tracks: 'inbound',
    });
    expect(verbs(call).filter((v) => v !== 'transcription_start')).toEqual(['speak', 'speak', 'speak', 'speak', 'hangup']);
    expect(verbs(call).filter((v) => v === 'transcription_start')).toHaveLength(1);
    expect(call.hangupWhileSpeaking).toBe(false);
    // The core records the turns: the adapter adds no transcript of its own, and speak.ended hung nothing up.
    expect(h.domain.eventsOf(callId).map((e) => e.type)).toEqual(['call.ringing', 'call.answered', 'call.ended']);
    expect(ended).toMatchObject({ status: 'completed', cause: 'normal_clearing' });
  });

  it('the callee hangs up mid-conversation: the pending listen() yields hangup, later says and hangup() do nothing', async () => {
    const h = await harness();
    const to = '+12125550143';
    h.emulator.scriptConversation(to, { replies: ['Hello?'], hangupAfter: 2 });
    const c = converse(h, async ({ say, listen, line }) => {
      await say('Is anyone there?');
      await listen();
      const pending = listen(); // the core always keeps one listen() waiting
      await say('Can you hear me?');
      await pending;
      await say('Hello again?');
      await listen();
      await line.hangup();
    });
    const { callId, call } = await dialConversation(h, to);
    const ended = await finished(h, callId);
    await c.done;

    expect(c.log).toEqual(['said: Is anyone there?', 'heard: Hello?', 'said: Can you hear me?', 'heard: (hangup)', 'said: Hello again?', 'heard: (hangup)']);
    expect(call.spoken).toEqual(['Is anyone there?', 'Can you hear me?']);
    expect(call.person).toEqual({ heard: ['Is anyone there?', 'Can you hear me?'], said: ['Hello?'] });
    expect(verbs(call)).not.toContain('hangup');
    expect(ended).toMatchObject({ status: 'completed', cause: 'normal_clearing' });
  });

  it('replayed webhooks, interim results and our own track never reach the line, and never end a say early', async () => {
    // Long enough a speak that a replayed call.speak.ended lands while the next speak still plays.
    const h = await harness(150);
    const to = '+12125550144';
    h.emulator.scriptConversation(to, { replies: ['First answer.', 'Second answer.'] });
    const replayed: string[] = [];
    const c = converse(h, async ({ say, listen, line, call }) => {
      await say('First question?');
      await listen();
      const [finalId] = h.emulator.eventIds(call, 'call.transcription').slice(-1);
      replayed.push(finalId, h.emulator.eventId(call, 'call.speak.ended'));
      expect(await h.emulator.redeliver(finalId)).toBe(200);
      const data = (transcript: string, is_final: boolean, transcription_track: string) => ({ transcription_data: { transcript, is_final, confidence: 0.9, transcription_track } });
      await h.emulator.emitCallEvent(call, 'call.transcription', data('First question?', true, 'outbound'));
      await h.emulator.emitCallEvent(call, 'call.transcription', data('Sec', false, 'inbound'));
      await h.emulator.emitCallEvent(call, 'call.transcription', data('   ', true, 'inbound'));
      const second = say('Second question?');
      expect(await h.emulator.redeliver(replayed[1])).toBe(200);
      await second;
      await listen();
      await line.hangup();
    });
    const { callId, call } = await dialConversation(h, to);
    await finished(h, callId);
    await c.done;

    expect(c.log).toEqual(['said: First question?', 'heard: First answer.', 'said: Second question?', 'heard: Second answer.']);
    expect(c.speakEndedAtSay).toEqual([1, 2]);
    expect(h.domain.duplicates).toEqual(replayed);
    expect(call.person!.said).toEqual(['First answer.', 'Second answer.']);
  });

  it('AMD says a person answered: the line says so; a conversation that ends without hanging up is hung up for it', async () => {
    const h = await harness();
    const to = '+12125550145';
    h.emulator.scriptConversation(to, { silent: true });
    const c = converse(h, async ({ say }) => {
      await say('Hello, is this Sam?');
    });
    const { callId, call } = await dialConversation(h, to, { amd: 'detect' });
    const ended = await finished(h, callId);
    await c.done;

    expect(c.line!.answeredBy).toBe('human');
    expect(h.domain.eventsOf(callId).map((e) => e.type)).toEqual(['call.ringing', 'call.answered', 'call.answered_by', 'call.ended']);
    expect(verbs(call).filter((v) => v !== 'transcription_start')).toEqual(['speak', 'hangup']);
    expect(call.hangupWhileSpeaking).toBe(false);
    expect(call.person).toEqual({ heard: ['Hello, is this Sam?'], said: [] });
    expect(ended).toMatchObject({ status: 'completed' });
  });

  it('a sentence Telnyx refuses to speak rejects that say with its error; the conversation goes on', async () => {
    const h = await harness();
    const to = '+12125550146';
    let refused: unknown;
    const c = converse(h, async ({ say, line }) => {
      refused = await line.say('x'.repeat(3001)).catch((err: unknown) => err);
      await say('Sorry, let me say that more briefly.');
      await line.hangup();
    });
    const { callId, call } = await dialConversation(h, to);
    await finished(h, callId);
    await c.done;

    expect(refused).toBeInstanceOf(CarrierError);
    expect(refused).toMatchObject({ code: '10015' });
    expect(c.log).toEqual(['said: Sorry, let me say that more briefly.']);
    expect(call.spoken).toEqual(['Sorry, let me say that more briefly.']);
  });

  it('an inbound call with the client handler is answered and handed to the conversation, which hears the caller', async () => {
    const h = await harness();
    h.domain.policy = () => ({ accept: true, greeting: 'A greeting the adapter must not say.' });
    h.domain.inboundMode = 'conversation';
    h.emulator.scriptConversation(CALLER, { replies: ['I would like to book a table for two.'] });
    const c = converse(h, async ({ say, listen, line }) => {
      await say('You have reached an AI assistant. How can I help?');
      await listen();
      await say('Thank you, I will pass that on. Goodbye.');
      await line.hangup();
    });
    const call = h.emulator.inboundCall(CALLER, OUR_NUMBER);
    await until(() => h.domain.events.some((e) => e.type === 'call.ended'), 'the inbound call to end');
    await h.emulator.settled();
    await h.provider.stop();
    await c.done;

    expect(c.ref).toEqual({ providerCallId: call.id });
    expect(c.log).toEqual([
      'said: You have reached an AI assistant. How can I help?',
      'heard: I would like to book a table for two.',
      'said: Thank you, I will pass that on. Goodbye.',
    ]);
    expect(call.spoken).toEqual(['You have reached an AI assistant. How can I help?', 'Thank you, I will pass that on. Goodbye.']);
    expect(verbs(call)[0]).toBe('answer');
    expect(verbs(call).filter((v) => v !== 'transcription_start')).toEqual(['answer', 'speak', 'speak', 'hangup']);
    expect(h.domain.events.map((e) => e.type)).toEqual(['call.inbound', 'call.answered', 'call.ended']);
  });
});
