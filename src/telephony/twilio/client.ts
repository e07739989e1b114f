import twilio from 'twilio';
import { ConfigError, type Config } from '../../config.js';

export type TwilioClient = ReturnType<typeof twilio>;

/** The official SDK client, pointed at `SWITCHBOARD_TWILIO_API_URL` when set (a local emulator in tests). */
export function createTwilioClient(config: Config): TwilioClient {
  const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken } = config;
  const missing = [
    !accountSid && 'TWILIO_ACCOUNT_SID: is required to place calls and send SMS through Twilio',
    !authToken && 'TWILIO_AUTH_TOKEN: is required to place calls and send SMS through Twilio',
  ].filter((p): p is string => typeof p === 'string');
  if (missing.length) throw new ConfigError(missing);
  // logLevel pinned: the SDK's debug mode prints to stdout, which carries MCP frames. 15 s: a stuck
  // request should fail well before the SDK's 30 s default holds up the dispatcher.
  const client = twilio(accountSid, authToken, { timeout: 15_000, logLevel: 'info', autoRetry: false });
  // Calls and Messages live on the `api` domain; its baseUrl is what the SDK prefixes to /2010-04-01/...
  if (config.SWITCHBOARD_TWILIO_API_URL) client.api.baseUrl = config.SWITCHBOARD_TWILIO_API_URL;
  return client;
}
