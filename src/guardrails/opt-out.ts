/** The outcome a voice agent reports (report_call) when the person asked not to be called again. */
export const OPT_OUT_OUTCOME = 'opt_out';

// Kept small on purpose: only unmistakable requests, so an everyday sentence never blocks a number.
const ME = String.raw`(?:me|us|this number|my number|here)`;
const LIST = String.raw`(?:your|the|this|that|a)\s+(?:(?:call(?:ing)?|contact|phone|mailing|do[- ]not[- ]call)\s+)?list`;
const OPT_OUT_PHRASES: readonly RegExp[] = [
  // "don't call me again", "do not call us anymore", "never call this number again", "please don't ever contact me again"
  new RegExp(String.raw`\b(?:do\s*n[o']?t|never)\s+(?:ever\s+)?(?:call|contact|phone|ring|text)\s+${ME}\s+(?:again|any\s*more)\b`),
  // "stop calling me", "stop calling this number"
  new RegExp(String.raw`\bstop\s+(?:calling|contacting|phoning|ringing|texting)\s+${ME}\b`),
  // "remove me from your list", "take me off your calling list", "take us off the list"
  new RegExp(String.raw`\b(?:remove|take)\s+${ME}\s+(?:off|from|out\s+of)\s+(?:of\s+)?${LIST}\b`),
  // "put me on your do-not-call list", "add me to the do not call list"
  new RegExp(String.raw`\b(?:put|add)\s+${ME}\s+(?:on|to)\s+(?:your|the)\s+do[- ]not[- ](?:call|contact)\s+list\b`),
];

/**
 * True when a callee's words on a call ask not to be called again ("don't call me again", "stop calling me",
 * "remove me from your list", "take me off your list" and close variants). Case, curly apostrophes and extra
 * spaces do not matter.
 */
export function asksNotToBeCalled(text: string): boolean {
  const said = text.toLowerCase().replace(/[’‘`]/g, "'").replace(/\s+/g, ' ');
  return OPT_OUT_PHRASES.some((phrase) => phrase.test(said));
}
