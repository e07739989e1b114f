import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { callingHoursProblem } from './guardrails/calling-hours.js';
import { isE164 } from './phone.js';

const e164 = z.string().refine(isE164, 'must be an E.164 number like +15551234567');
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const httpsOrigin = z
  .url({ protocol: /^https?$/ })
  .transform((v) => v.replace(/\/+$/, ''));

/** Why each setting a carrier cannot work without is needed: one table for start-up checks and the carrier adapters. */
const REQUIRED_BECAUSE = {
  TWILIO_ACCOUNT_SID: 'is required when SWITCHBOARD_PROVIDER=twilio (the Account SID, AC…, on the Twilio console home page)',
  TWILIO_AUTH_TOKEN: 'is required to send requests and verify Twilio webhooks (the Auth Token on the Twilio console home page)',
  TELNYX_API_KEY: 'is required when SWITCHBOARD_PROVIDER=telnyx (an API v2 key: Portal → Account settings → Keys & Credentials)',
  TELNYX_CONNECTION_ID: 'is required when SWITCHBOARD_PROVIDER=telnyx (the Call Control application id: Portal → Voice → Programmable Voice)',
  TELNYX_PUBLIC_KEY: 'is required to verify Telnyx webhooks (Portal → Account settings → Keys & Credentials → Public Key)',
  SWITCHBOARD_PUBLIC_URL: 'is required so the carrier can reach the webhooks (an https tunnel such as ngrok or cloudflared, or a proxy origin)',
  SWITCHBOARD_FROM_NUMBER: 'is required as the caller id for a real carrier (a number you own there, in E.164)',
} as const;
type RequiredSetting = keyof typeof REQUIRED_BECAUSE;

/** Every setting, keyed by its env var name. A config file may supply any of them; env wins. */
const ConfigSchema = z
  .object({
    SWITCHBOARD_DATA_DIR: z.string().min(1).default(join(homedir(), '.switchboard')),
    SWITCHBOARD_PROVIDER: z.enum(['sim', 'twilio', 'telnyx']).default('sim'),
    SWITCHBOARD_VOICE: z.enum(['sim', 'openai']).default('sim'),
    SWITCHBOARD_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
    SWITCHBOARD_HTTP_PORT: int(0, 65535).default(3340),
    SWITCHBOARD_HTTP_TOKEN: z.string().min(16, 'must be at least 16 characters; leave it unset to have one generated into the data dir').optional(),
    SWITCHBOARD_ENGINE: z.enum(['auto', 'embedded']).default('auto'),
    SWITCHBOARD_ENGINE_IDLE_SECONDS: int(1, 7 * 86_400).default(300),
    SWITCHBOARD_PUBLIC_URL: httpsOrigin.optional(),
    SWITCHBOARD_FROM_NUMBER: e164.optional(),
    SWITCHBOARD_SIM_DIRECTORY: z.string().min(1).optional(),
    SWITCHBOARD_SIM_TIME_SCALE: z.coerce.number().min(0).max(1000).default(1),
    SWITCHBOARD_MAX_CONCURRENT_CALLS: int(1, 10_000).default(10),
    SWITCHBOARD_MIN_CALL_SPACING_MS: int(0, 3_600_000).default(1000),
    SWITCHBOARD_RING_TIMEOUT_SECONDS: int(5, 120).default(30),
    SWITCHBOARD_MAX_CALL_SECONDS: int(1, 14_400).default(900),
    SWITCHBOARD_CALL_DEADLINE_GRACE_SECONDS: int(0, 3600).default(60),
    SWITCHBOARD_INBOUND_POLICY: z.enum(['disabled', 'allowlist', 'open']).default('disabled'),
    SWITCHBOARD_INBOUND_ALLOWLIST: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(e164)),
    SWITCHBOARD_INBOUND_GREETING: z.string().max(1000).default('How can I help you?'),
    SWITCHBOARD_INBOUND_HANDLER: z.enum(['client', 'agent']).default('client'),
    SWITCHBOARD_INBOUND_ASSISTANT_ID: z.string().min(1).optional(),
    SWITCHBOARD_INBOUND_CLAIM_SECONDS: int(1, 600).default(30),
    SWITCHBOARD_OWNER_NUMBERS: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(e164)),
    SWITCHBOARD_CALLING_HOURS: z
      .string()
      .default('08:00-21:00')
      .superRefine((v, ctx) => {
        const problem = callingHoursProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    SWITCHBOARD_MAX_CALLS_PER_NUMBER_PER_DAY: int(1, 100_000).default(3),
    SWITCHBOARD_MAX_SMS_PER_NUMBER_PER_DAY: int(1, 100_000).default(5),
    SWITCHBOARD_CONVERSATION_HOLD_SECONDS: int(1, 600).default(20),
    SWITCHBOARD_CONVERSATION_GOODBYE_SECONDS: int(1, 3600).default(60),
    SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY: bool.default(false),
    SWITCHBOARD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must look like AC followed by 32 hex digits').optional(),
    TWILIO_AUTH_TOKEN: z.string().min(16, 'looks too short for a Twilio auth token').optional(),
    SWITCHBOARD_TWILIO_API_URL: z.url().optional(),
    TELNYX_API_KEY: z.string().min(10, 'looks too short for a Telnyx API key').optional(),
    TELNYX_CONNECTION_ID: z.string().min(1).optional(),
    TELNYX_PUBLIC_KEY: z.string().min(32, 'must be the base64 Ed25519 public key from the Telnyx portal').optional(),
    TELNYX_MESSAGING_PROFILE_ID: z.string().min(1).optional(),
    SWITCHBOARD_TELNYX_API_URL: z.url().optional(),
    OPENAI_API_KEY: z.string().min(1).optional(),
    SWITCHBOARD_OPENAI_REALTIME_URL: z.url({ protocol: /^wss?$/ }).default('wss://api.openai.com/v1/realtime'),
    SWITCHBOARD_OPENAI_MODEL: z.string().min(1).default('gpt-realtime'),
    SWITCHBOARD_OPENAI_VOICE: z.string().min(1).default('marin'),
  })
  .superRefine((c, ctx) => {
    for (const key of carrierRequirements(c)) {
      if (c[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: REQUIRED_BECAUSE[key] });
    }
    if (c.SWITCHBOARD_VOICE === 'openai') {
      if (c.SWITCHBOARD_PROVIDER === 'sim') {
        // The simulated carrier has no audio to stream; accepting it would silently run the scripted agent instead.
        ctx.addIssue({ code: 'custom', path: ['SWITCHBOARD_VOICE'], message: 'openai (live voice) needs a real carrier to stream the call: set SWITCHBOARD_PROVIDER=twilio or telnyx, or use SWITCHBOARD_VOICE=sim' });
      }
      if (!c.OPENAI_API_KEY) ctx.addIssue({ code: 'custom', path: ['OPENAI_API_KEY'], message: 'is required when SWITCHBOARD_VOICE=openai (an API key from platform.openai.com)' });
    }
    if (c.SWITCHBOARD_INBOUND_HANDLER === 'agent' && c.SWITCHBOARD_VOICE !== 'openai') {
      ctx.addIssue({ code: 'custom', path: ['SWITCHBOARD_INBOUND_HANDLER'], message: 'agent needs live voice: set SWITCHBOARD_VOICE=openai (with a real carrier), or use client' });
    }
    if (c.SWITCHBOARD_CONVERSATION_GOODBYE_SECONDS <= c.SWITCHBOARD_CONVERSATION_HOLD_SECONDS) {
      ctx.addIssue({ code: 'custom', path: ['SWITCHBOARD_CONVERSATION_GOODBYE_SECONDS'], message: 'must be longer than SWITCHBOARD_CONVERSATION_HOLD_SECONDS (the hold line comes first, the goodbye later)' });
    }
    if (c.SWITCHBOARD_INBOUND_POLICY === 'allowlist' && c.SWITCHBOARD_INBOUND_ALLOWLIST.length + c.SWITCHBOARD_OWNER_NUMBERS.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['SWITCHBOARD_INBOUND_ALLOWLIST'], message: 'must list at least one E.164 number (or set SWITCHBOARD_OWNER_NUMBERS) when SWITCHBOARD_INBOUND_POLICY=allowlist' });
    }
  });

export type Config = z.output<typeof ConfigSchema>;
export const CONFIG_KEYS = Object.keys(ConfigSchema.shape) as (keyof Config)[];

/** The settings the configured carrier cannot work without. */
function carrierRequirements(c: { SWITCHBOARD_PROVIDER: string; SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY: boolean }): RequiredSetting[] {
  const verify = !c.SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY;
  const real: RequiredSetting[] = ['SWITCHBOARD_PUBLIC_URL', 'SWITCHBOARD_FROM_NUMBER'];
  if (c.SWITCHBOARD_PROVIDER === 'twilio') return ['TWILIO_ACCOUNT_SID', ...(verify ? (['TWILIO_AUTH_TOKEN'] as const) : []), ...real];
  if (c.SWITCHBOARD_PROVIDER === 'telnyx') return ['TELNYX_API_KEY', 'TELNYX_CONNECTION_ID', ...(verify ? (['TELNYX_PUBLIC_KEY'] as const) : []), ...real];
  return [];
}

/**
 * The given settings, or a ConfigError naming every missing one and why it is needed. Carrier adapters call it
 * for what they cannot start without, whatever config they were handed.
 */
export function requireSettings<K extends RequiredSetting>(config: Config, keys: readonly K[]): { [P in K]: NonNullable<Config[P]> } {
  const missing = keys.filter((k) => config[k] === undefined);
  if (missing.length) throw new ConfigError(missing.map((k) => `${k}: ${REQUIRED_BECAUSE[k]}`));
  return Object.fromEntries(keys.map((k) => [k, config[k]])) as { [P in K]: NonNullable<Config[P]> };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`);
  }
}

/**
 * Reads settings from an optional JSON config file (SWITCHBOARD_CONFIG, else
 * <data dir>/config.json when present) overlaid by the environment.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const fromEnv = Object.fromEntries(CONFIG_KEYS.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  const fileSettings = readConfigFile(env);
  const parsed = ConfigSchema.safeParse({ ...fileSettings, ...fromEnv });
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const key = String(i.path[0] ?? 'config');
        const got = key in fromEnv ? ` (got ${JSON.stringify(redact(key, fromEnv[key]))})` : '';
        return `${key}: ${i.message}${got}`;
      }),
    );
  }
  return { ...parsed.data, SWITCHBOARD_DATA_DIR: resolve(parsed.data.SWITCHBOARD_DATA_DIR) };
}

function readConfigFile(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const explicit = env.SWITCHBOARD_CONFIG;
  const path = explicit ?? join(env.SWITCHBOARD_DATA_DIR || join(homedir(), '.switchboard'), 'config.json');
  if (!explicit && !existsSync(path)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([`SWITCHBOARD_CONFIG: cannot read ${path} as JSON (${(err as Error).message})`]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError([`SWITCHBOARD_CONFIG: ${path} must hold a JSON object of setting names to values`]);
  }
  const unknown = Object.keys(raw).filter((k) => !(CONFIG_KEYS as string[]).includes(k));
  if (unknown.length) throw new ConfigError(unknown.map((k) => `${k}: unknown setting in ${path}`));
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? v : String(v)]));
}

const SECRET = /TOKEN|KEY|SECRET/;
function redact(key: string, value: unknown): unknown {
  return SECRET.test(key) ? '***' : value;
}
