import { ConfigError, loadConfig, type Config } from '../config.js';
import { openStore, SCHEMA_VERSION, schemaVersion } from '../store/database.js';
import { SimDirectory } from '../telephony/sim/directory.js';
import type { DoctorCheck } from '../telephony/setup-check.js';
import { twilioDoctor } from '../telephony/twilio/doctor.js';
import { telnyxDoctor } from '../telephony/telnyx/doctor.js';


const MARK: Record<DoctorCheck['status'], string> = { ok: '✓', warn: '!', fail: '✗', skip: '-' };

/** `switchboard doctor`: what is configured, what is wrong and how to fix it. Exit 1 when anything failed. */
export function runDoctor(env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): number {
  const checks = diagnose(env);
  for (const c of checks) out.write(`${MARK[c.status]} ${c.label}: ${c.detail}\n`);
  const failed = checks.filter((c) => c.status === 'fail').length;
  out.write(failed ? `\n${failed} problem(s) to fix.\n` : '\nAll checks passed.\n');
  return failed ? 1 : 0;
}

export function diagnose(env: NodeJS.ProcessEnv): DoctorCheck[] {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => ({ status: 'fail', label: 'config', detail: p }));
  }
  const checks: DoctorCheck[] = [{ status: 'ok', label: 'config', detail: `provider ${config.SWITCHBOARD_PROVIDER}, voice ${config.SWITCHBOARD_VOICE}` }];
  checks.push(databaseCheck(config));
  if (config.SWITCHBOARD_HTTP_HOST !== '127.0.0.1' && config.SWITCHBOARD_HTTP_HOST !== 'localhost' && config.SWITCHBOARD_HTTP_HOST !== '::1') {
    checks.push({ status: 'warn', label: 'listener', detail: `binds ${config.SWITCHBOARD_HTTP_HOST}, not loopback; put it behind a proxy or tunnel that only forwards the webhook paths.` });
  }
  if (config.SWITCHBOARD_PROVIDER === 'sim') {
    try {
      const directory = SimDirectory.load(config.SWITCHBOARD_SIM_DIRECTORY);
      checks.push({ status: 'ok', label: 'sim directory', detail: `${directory.entries().length} simulated people (${config.SWITCHBOARD_SIM_DIRECTORY ?? 'built-in'})` });
    } catch (err) {
      checks.push({ status: 'fail', label: 'sim directory', detail: (err as Error).message.replace(/\n/g, '; ') });
    }
  } else checks.push(...(config.SWITCHBOARD_PROVIDER === 'twilio' ? twilioDoctor(config) : telnyxDoctor(config)));
  if (config.SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY) {
    checks.push({ status: 'warn', label: 'webhooks', detail: 'SWITCHBOARD_INSECURE_SKIP_WEBHOOK_VERIFY is on: anyone who can reach the sidecar can forge carrier events.' });
  }
  return checks;
}

function databaseCheck(config: Config): DoctorCheck {
  try {
    const db = openStore(config.SWITCHBOARD_DATA_DIR);
    const version = schemaVersion(db);
    db.close();
    return { status: 'ok', label: 'database', detail: `${config.SWITCHBOARD_DATA_DIR}/switchboard.db, schema ${version} of ${SCHEMA_VERSION}` };
  } catch (err) {
    return { status: 'fail', label: 'database', detail: `${(err as Error).message} (check SWITCHBOARD_DATA_DIR is writable)` };
  }
}
