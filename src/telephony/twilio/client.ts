import twilio from 'twilio';
import { requireSettings, type Config } from '../../config.js';

export type TwilioClient = ReturnType<typeof twilio>;

/** The official SDK client, pointed at `SWITCHBOARD_TWILIO_API_URL` when set (a local emulator in tests). */
export function createTwilioClient(config: Config): TwilioClient {
  const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken } = requireSettings(config, ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN']);
  // logLevel pinned: the SDK's debug mode prints to stdout, which carries MCP frames. 15 s: a stuck
  // request should fail well before the SDK's 30 s default holds up the dispatcher.
  const client = twilio(accountSid, authToken, { timeout: 15_000, logLevel: 'info', autoRetry: false });
  // Calls and Messages live on the `api` domain; its baseUrl is what the SDK prefixes to /2010-04-01/...
  if (config.SWITCHBOARD_TWILIO_API_URL) client.api.baseUrl = config.SWITCHBOARD_TWILIO_API_URL;
  return client;
}
