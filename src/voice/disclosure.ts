/** Every call Switchboard places says first that an AI is speaking, whatever carrier or engine runs it. */
export const AI_DISCLOSURE = 'Hi, this is an AI assistant calling on behalf of a Switchboard user. This call may be recorded.';

/** Every inbound call Switchboard answers says the same first, whatever greeting the owner configured. */
export const INBOUND_DISCLOSURE = 'You have reached an AI assistant answering for a Switchboard user. This call may be recorded.';

export function withDisclosure(text: string | null): string | null {
  return text?.trim() ? `${AI_DISCLOSURE} ${text.trim()}` : null;
}
