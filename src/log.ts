import { pino, type Logger } from 'pino';

export type { Logger };

/** Logs go to stderr only: stdout carries nothing but MCP frames. */
export function createLogger(level: string = 'info'): Logger {
  return pino(
    {
      name: 'switchboard',
      level,
      redact: {
        paths: ['*.authToken', '*.apiKey', '*.token', '*.password', 'config.TWILIO_AUTH_TOKEN', 'config.TELNYX_API_KEY', 'config.OPENAI_API_KEY'],
        censor: '***',
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
