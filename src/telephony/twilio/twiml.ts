import twilio from 'twilio';

/**
 * What we tell Twilio to do on a call, before it becomes TwiML. Agent mode will add a
 * `{ verb: 'stream' }` rendered as `<Connect><Stream>` once the media bridge exists.
 */
export type Verb = { verb: 'say'; text: string } | { verb: 'hangup' } | { verb: 'reject' };

export function renderVoiceTwiml(verbs: readonly Verb[]): string {
  const response = new twilio.twiml.VoiceResponse();
  for (const v of verbs) {
    if (v.verb === 'say') response.say(v.text);
    else if (v.verb === 'hangup') response.hangup();
    else response.reject();
  }
  return response.toString();
}

/** Texts Twilio will speak, in order: they become the agent's side of the transcript. */
export const spokenTexts = (verbs: readonly Verb[]): string[] => verbs.flatMap((v) => (v.verb === 'say' ? [v.text] : []));

/** An SMS webhook answer that sends no reply. */
export const emptyMessagingTwiml = (): string => new twilio.twiml.MessagingResponse().toString();
