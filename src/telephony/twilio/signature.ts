import twilio from 'twilio';

export type SignedRequest = {
  /** Exactly the URL Twilio was given: the configured public origin + path + query, never rebuilt from Host headers. */
  url: string;
  signature: string | undefined;
  rawBody: Buffer;
  contentType: string | undefined;
};

/**
 * Checks `X-Twilio-Signature` with the twilio package's own validators: form posts sign URL + sorted params;
 * JSON posts sign the URL (which carries `bodySHA256`) and the body is checked against that hash.
 */
export function isSignedByTwilio(authToken: string, req: SignedRequest): boolean {
  if (!req.signature) return false;
  if (new URL(req.url).searchParams.has('bodySHA256')) {
    return twilio.validateRequestWithBody(authToken, req.signature, req.url, req.rawBody.toString('utf8'));
  }
  if (req.contentType !== undefined && !req.contentType.startsWith('application/x-www-form-urlencoded')) return false;
  return twilio.validateRequest(authToken, req.signature, req.url, formParams(req.rawBody));
}

/** A form body as Twilio signs it: repeated keys keep every value. */
export function formParams(rawBody: Buffer): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(rawBody.toString('utf8'))) {
    const seen = out[key];
    out[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return out;
}
