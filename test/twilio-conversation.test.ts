import { describe, expect, it } from 'vitest';
import type { CallRef, Heard, VoiceLine } from '../src/telephony/provider.js';
import { dialRequest } from './fakes/fake-domain.js';
import { OUR_NUMBER, world, type World } from './fakes/twilio-adapter-harness.js';
import type { EmulatedCall } from './fakes/twilio-emulator.js';
import { until } from './helpers.js';

/**
 * Twilio conversation calls at the carrier edge: the real adapter (TwiML, webhooks, REST) against the Twilio emulator,
 * with a scripted conversation in place of Switchboard's conversation engine. It uses the line as the engine does:
 * one listen() always pending, a say() per sentence, hangup() at the end.
 */

const PERSON = '+12125550111';

const OPENING = 'Hello, this is an AI assistant calling for Ace Roofing.';
const PRICE = 'What is your price per square?';
const START = 'When could you start?';
const GOODBYE = 'Thank you, goodbye!';


/** The line as the conversation engine uses it: one listen() always pending; `log` is what was said (once played) and heard, in order. */
class Talk {
  readonly log: string[] = [];
  private readonly heard: Heard[] = [];
  private readonly waiting: ((heard: Heard) => void)[] = [];

  constructor(readonly line: VoiceLine) {
    void this.read();
  }

  async say(text: string): Promise<void> {
    await this.line.say(text);
    this.log.push(`said: ${text}`);
  }

  next(): Promise<Heard> {
    const heard = this.heard.shift();
    return heard ? Promise.resolve(heard) : new Promise((resolve) => this.waiting.push(resolve));
  }

  private async read(): Promise<void> {
    for (;;) {
      const heard = await this.line.listen();
      this.log.push(heard.kind === 'speech' ? `heard: ${heard.text}` : `heard: (${heard.kind})`);
      const resolve = this.waiting.shift();
      if (resolve) resolve(heard);
      else this.heard.push(heard);
      if (heard.kind === 'hangup') return;
    }
  }
}

/** Has the next call the adapter hands over run `script`; resolves once the script is done. */
function converse(w: World, script: (talk: Talk, ref: CallRef) => Promise<void>): { refs: CallRef[]; done: Promise<Talk> } {
  const refs: CallRef[] = [];
  const done = new Promise<Talk>((resolve, reject) => {
    w.domain.conversation = async (ref, line) => {
      refs.push(ref);
      const talk = new Talk(line);
      await script(talk, ref).then(() => resolve(talk), reject);
    };
  });
  return { refs, done };
}

let nextCall = 0;
async function dial(w: World, to = PERSON): Promise<{ callId: string; call: EmulatedCall }> {
  const callId = `call_conv${++nextCall}`;
  const req = dialRequest(callId, to, OUR_NUMBER, { mode: 'conversation', message: OPENING });
  w.domain.dialing(req);
  const { providerCallId } = await w.twilio.placeCall(req);
  w.domain.linked(callId, providerCallId);
  return { callId, call: w.emulator.calls.get(providerCallId)! };
}

const gatherHooks = (w: World) => w.emulator.webhooks.filter((h) => new URL(h.url).pathname === '/webhooks/twilio/gather');
const updates = (w: World) => w.emulator.restLog.filter((r) => r.op === 'calls.update');

describe('Twilio conversation calls', () => {
  it('runs without live voice', async () => {
    const w = await world();
    expect(w.twilio.supportedModes).toContain('conversation');
  });

  it('a three-turn conversation: each sentence is played in order, each reply is heard in order, then goodbye and hangup', async () => {
    const w = await world({ [PERSON]: { conversation: { facts: { price_per_square: '$450 a square.' }, replies: ['We could start on Monday.'] } } });
    let saidWhenGoodbyeResolved: string[] = [];
    let call: EmulatedCall | undefined;
    const { refs, done } = converse(w, async (talk) => {
      await talk.say(OPENING);
      await talk.say(PRICE);
      await talk.next();
      await talk.say(START);
      await talk.next();
      await talk.say(GOODBYE);
      saidWhenGoodbyeResolved = [...call!.said];
      await talk.line.hangup();
    });
    ({ call } = await dial(w));
    const talk = await done;
    await w.emulator.finished(call.sid);

    expect(call.said).toEqual([OPENING, PRICE, START, GOODBYE]);
    expect(call.replies).toEqual(['$450 a square.', 'We could start on Monday.']);
    expect(talk.log).toEqual([
      `said: ${OPENING}`,
      `said: ${PRICE}`,
      'heard: $450 a square.',
      `said: ${START}`,
      'heard: We could start on Monday.',
      `said: ${GOODBYE}`,
      'heard: (hangup)',
    ]);
    // say() resolves once the sentence was played, not when Twilio accepted it.
    expect(saidWhenGoodbyeResolved.at(-1)).toBe(GOODBYE);
    expect(call.hungUp).toBe(true);
    expect(refs).toEqual([{ providerCallId: call.sid, callId: refs[0]!.callId, attempt: 1 }]);
    expect(talk.line.answeredBy).toBeNull();

    // The answer asks straight back, so the opening sentences follow without a REST update; each later Say does not.
    expect(call.twiml[0]).toBe(`<?xml version="1.0" encoding="UTF-8"?><Response><Redirect method="POST">${w.publicUrl}/webhooks/twilio/gather?call_id=${refs[0]!.callId}&amp;attempt=1&amp;step=0</Redirect></Response>`);
    expect(call.twiml[1]).toMatch(/^<\?xml[^>]*><Response><Say>Hello, this is an AI assistant calling for Ace Roofing\.<\/Say><Redirect method="POST">[^<]*step=1<\/Redirect><\/Response>$/);
    expect(call.twiml).toContainEqual(
      expect.stringMatching(
        /<Gather input="speech" method="POST" actionOnEmptyResult="true" timeout="5" speechTimeout="auto" speechModel="phone_call" enhanced="true" language="en-US" action="[^"]*\/webhooks\/twilio\/gather\?call_id=call_conv\d+&amp;attempt=1&amp;step=\d+"\/><Redirect/,
      ),
    );
    expect(updates(w)).toEqual([
      { op: 'calls.update', status: 200 }, // START, said while Twilio listened
      { op: 'calls.update', status: 200 }, // GOODBYE
      { op: 'calls.update', status: 200 }, // the hangup
    ]);
    // Real Twilio posts the Gather action with the call's parameters plus SpeechResult and Confidence.
    expect(gatherHooks(w).find((h) => h.params.SpeechResult)?.params).toMatchObject({ CallSid: call.sid, CallStatus: 'in-progress', SpeechResult: '$450 a square.', Confidence: expect.any(String) });

    // The conversation records its own transcript: the adapter reports only the call's progress.
    expect(w.domain.events.map((e) => e.type)).toEqual(['call.ringing', 'call.answered', 'call.ended']);
    expect(w.domain.ended(refs[0]!.callId!)).toMatchObject({ status: 'completed' });
    // What the callee says stays out of the logs.
    expect(JSON.stringify(w.domain.logs)).not.toContain('$450');
  });

  it('silence is listened through: a Gather that times out is answered with the Gather again until the callee speaks', async () => {
    const w = await world({ [PERSON]: { conversation: { pauses: 2, replies: ['Sorry, yes, go ahead.'], answer: 'everything' } } });
    const { done } = converse(w, async (talk) => {
      await talk.say(OPENING);
      await talk.next();
      await talk.say(GOODBYE);
      await talk.line.hangup();
    });
    const { call } = await dial(w);
    const talk = await done;
    await w.emulator.finished(call.sid);

    expect(talk.log).toEqual([`said: ${OPENING}`, 'heard: Sorry, yes, go ahead.', `said: ${GOODBYE}`, 'heard: (hangup)']);
    // The opening's callback was answered with a Gather; it and the next timed out (no SpeechResult), each answered
    // with a Gather again; the third heard the reply.
    const hooks = gatherHooks(w);
    const reply = hooks.findIndex((h) => h.params.SpeechResult === 'Sorry, yes, go ahead.');
    const listenedAgain = hooks.slice(reply - 3, reply);
    expect(listenedAgain).toHaveLength(3);
    for (const hook of listenedAgain) {
      expect(hook.params.SpeechResult).toBeUndefined();
      expect(hook.body).toMatch(/^<\?xml[^>]*><Response><Gather input="speech"[^>]*\/><Redirect[^>]*>[^<]*<\/Redirect><\/Response>$/);
    }
    expect(call.gathers).toBeGreaterThanOrEqual(3);
    expect(call.said).toEqual([OPENING, GOODBYE]);
  });

  it('a callee who never speaks keeps the line listening until the conversation gives up', async () => {
    const w = await world({ [PERSON]: { conversation: { silent: true } } });
    let call: EmulatedCall | undefined;
    const { done } = converse(w, async (talk) => {
      await talk.say(OPENING);
      await until(async () => (call!.gathers >= 3 ? true : undefined), 'three silent Gathers');
      await talk.say(GOODBYE);
      await talk.line.hangup();
    });
    ({ call } = await dial(w));
    const talk = await done;
    await w.emulator.finished(call.sid);

    expect(talk.log).toEqual([`said: ${OPENING}`, `said: ${GOODBYE}`, 'heard: (hangup)']);
    expect(call.replies).toEqual([]);
    expect(call.said).toEqual([OPENING, GOODBYE]);
  });

  it('a callee who hangs up mid-conversation: the Say in progress resolves and listen() hears the hangup', async () => {
    const w = await world({ [PERSON]: { conversation: { replies: ['Hello?'], hangupAfter: 2, answer: 'everything' } } });
    const { refs, done } = converse(w, async (talk) => {
      await talk.say(OPENING);
      await talk.next();
      await talk.say(PRICE); // the callee hangs up on hearing it
      expect(await talk.next()).toEqual({ kind: 'hangup' });
      await talk.line.hangup(); // the call is over already: nothing to ask Twilio
    });
    const { call } = await dial(w);
    const talk = await done;
    await w.emulator.finished(call.sid);

    expect(talk.log).toEqual([`said: ${OPENING}`, 'heard: Hello?', `said: ${PRICE}`, 'heard: (hangup)']);
    expect(call).toMatchObject({ said: [OPENING, PRICE], replies: ['Hello?'], personHungUp: true, hungUp: false });
    expect(w.domain.ended(refs[0]!.callId!)).toMatchObject({ status: 'completed' });
    expect(updates(w)).toEqual([{ op: 'calls.update', status: 200 }]); // PRICE; no hangup of a call that is over
  });

  it('a forged Gather callback is refused with 401, and a replayed one is not heard twice', async () => {
    const w = await world({ [PERSON]: { conversation: { facts: { price_per_square: '$450 a square.' }, replies: ['We could start on Monday.'] } } });
    let reachedGate!: () => void;
    const atGate = new Promise<void>((resolve) => (reachedGate = resolve));
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const { done } = converse(w, async (talk) => {
      await talk.say(PRICE);
      await talk.next();
      reachedGate();
      await gate;
      await talk.say(START);
      await talk.next();
      await talk.line.hangup();
    });
    const { call } = await dial(w);
    await atGate;
    // The emulator notes a webhook once its answer is in, which may be just after the line heard it.
    const answered = await until(async () => gatherHooks(w).find((h) => h.params.SpeechResult === '$450 a square.'), 'the answered Gather');

    for (const signature of ['forged', 'missing'] as const) {
      const forged = await w.emulator.post(answered.url, { ...answered.params, SpeechResult: 'It is free of charge.' }, { signature });
      expect(forged.status).toBe(401);
    }
    const replayed = await w.emulator.replay(answered);
    expect(replayed.status).toBe(200);
    expect(replayed.body).toContain('<Gather input="speech"');
    openGate();
    const talk = await done;
    await w.emulator.finished(call.sid);

    expect(talk.log).toEqual([`said: ${PRICE}`, 'heard: $450 a square.', `said: ${START}`, 'heard: We could start on Monday.', 'heard: (hangup)']);
    expect(w.domain.duplicates).toEqual([expect.stringMatching(/^twilio:gather:CA[0-9a-f]{32}:\d+$/)]);
    expect(call.said).toEqual([PRICE, START]);
  });

  it('a replayed voice webhook does not start a second conversation', async () => {
    const w = await world({ [PERSON]: { conversation: { replies: ['Hi.'], answer: 'everything' } } });
    const { refs, done } = converse(w, async (talk) => {
      await talk.say(OPENING);
      await talk.next();
      await talk.line.hangup();
    });
    const { call } = await dial(w);
    await done;
    await w.emulator.finished(call.sid);
    const voice = w.emulator.webhooks.find((h) => new URL(h.url).pathname === '/webhooks/twilio/voice')!;

    const again = await w.emulator.replay(voice);

    expect(again.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>');
    expect(refs).toHaveLength(1);
  });
});

describe('Twilio inbound calls taken by the client', () => {
  it('an accepted caller is answered and handed to the conversation, which speaks first and hears them', async () => {
    const w = await world({ [PERSON]: { conversation: { sayFirst: 'Hi, is this the Ace Roofing line?' } } });
    w.domain.policy = () => ({ accept: true, greeting: 'unused: the conversation speaks' });
    const { refs, done } = converse(w, async (talk) => {
      await talk.say('You are speaking with an AI assistant.');
      await talk.say('Please hold on a moment.');
      await talk.next();
      await talk.say('Yes, it is. Goodbye!');
      await talk.line.hangup();
    });
    const { call } = await w.emulator.inboundCall(PERSON, OUR_NUMBER);
    const talk = await done;
    await w.emulator.finished(call.sid);

    expect(refs).toEqual([{ providerCallId: call.sid }]);
    expect(talk.line.answeredBy).toBeNull();
    expect(call.said).toEqual(['You are speaking with an AI assistant.', 'Please hold on a moment.', 'Yes, it is. Goodbye!']);
    expect(talk.log).toEqual([
      'said: You are speaking with an AI assistant.',
      'said: Please hold on a moment.',
      'heard: Hi, is this the Ace Roofing line?',
      'said: Yes, it is. Goodbye!',
      'heard: (hangup)',
    ]);
    expect(call.hungUp).toBe(true);
    // Nothing in the callbacks of an inbound call names an attempt: the CallSid is the key.
    for (const hook of gatherHooks(w)) expect(hook.url).toMatch(new RegExp(`^${w.publicUrl}/webhooks/twilio/gather\\?step=\\d+$`));
    expect(w.domain.events).toMatchObject([
      { type: 'call.inbound', providerCallId: call.sid, from: PERSON, to: OUR_NUMBER },
      { type: 'call.answered', providerCallId: call.sid },
      { type: 'call.ended', providerCallId: call.sid, status: 'completed' },
    ]);
  });
});
