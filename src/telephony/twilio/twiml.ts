import twilio from 'twilio';

/**
 * What we tell Twilio to do on a call, before it becomes TwiML. `stream` is the live agent: a bidirectional
 * `<Connect><Stream>` whose token rides as a `<Parameter>` (Twilio refuses query strings on stream URLs).
 */
export type Verb = { verb: 'say'; text: string } | { verb: 'hangup' } | { verb: 'reject' } | { verb: 'stream'; url: string; token: string };

export function renderVoiceTwiml(verbs: readonly Verb[]): string {
  const response = new twilio.twiml.VoiceResponse();
  for (const v of verbs) {
    if (v.verb === 'say') response.say(v.text);
    else if (v.verb === 'hangup') response.hangup();
    else if (v.verb === 'stream') response.connect().stream({ url: v.url }).parameter({ name: 'token', value: v.token });
    else response.reject();
  }
  return response.toString();
}

/** Texts Twilio will speak, in order: they become the agent's side of the transcript. */
export const spokenTexts = (verbs: readonly Verb[]): string[] => verbs.flatMap((v) => (v.verb === 'say' ? [v.text] : []));

/** An SMS webhook answer that sends no reply. */
export const emptyMessagingTwiml = (): string => new twilio.twiml.MessagingResponse().toString();
