import twilio from 'twilio';

/**
 * What we tell Twilio to do on a call, before it becomes TwiML. `stream` is the live agent: a bidirectional
 * `<Connect><Stream>` whose token rides as a `<Parameter>` (Twilio refuses query strings on stream URLs).
 * `listen` is one turn of a conversation call: a speech `<Gather>` that posts what it heard to `action`.
 */
export type Verb =
  | { verb: 'say'; text: string }
  | { verb: 'hangup' }
  | { verb: 'reject' }
  | { verb: 'stream'; url: string; token: string }
  | { verb: 'listen'; action: string }
  | { verb: 'redirect'; url: string };

/**
 * How a conversation call listens, with Twilio's own speech recognition. `speechTimeout="auto"` ends the utterance
 * at the caller's first real pause, which Twilio only allows with a named model: `phone_call` with `enhanced` is
 * Google's premium model trained on 8 kHz phone audio (`experimental_conversations` is meant for long-form speech
 * and answers later). `timeout`: seconds of silence before the Gather gives up; with `actionOnEmptyResult` it
 * still posts its action (no `SpeechResult`), so we hear of every turn and can listen again or speak.
 */
export const SPEECH_GATHER = {
  input: ['speech'],
  method: 'POST',
  actionOnEmptyResult: true,
  timeout: 5,
  speechTimeout: 'auto',
  speechModel: 'phone_call',
  enhanced: true,
  language: 'en-US',
} as const;

export function renderVoiceTwiml(verbs: readonly Verb[]): string {
  const response = new twilio.twiml.VoiceResponse();
  for (const v of verbs) {
    if (v.verb === 'say') response.say(v.text);
    else if (v.verb === 'hangup') response.hangup();
    else if (v.verb === 'stream') response.connect().stream({ url: v.url }).parameter({ name: 'token', value: v.token });
    else if (v.verb === 'listen') response.gather({ ...SPEECH_GATHER, input: [...SPEECH_GATHER.input], action: v.action });
    else if (v.verb === 'redirect') response.redirect({ method: 'POST' }, v.url);
    else response.reject();
  }
  return response.toString();
}

/** Texts Twilio will speak, in order: they become the agent's side of the transcript. */
export const spokenTexts = (verbs: readonly Verb[]): string[] => verbs.flatMap((v) => (v.verb === 'say' ? [v.text] : []));

/** An SMS webhook answer that sends no reply. */
export const emptyMessagingTwiml = (): string => new twilio.twiml.MessagingResponse().toString();
