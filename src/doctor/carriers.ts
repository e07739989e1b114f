import type { Config } from '../config.js';
import type { DoctorCheck } from './doctor.js';

/** Carrier-specific checks: credentials, numbers, public URL and the webhook URLs to paste. */
export async function carrierDoctor(config: Config): Promise<DoctorCheck[]> {
  return [{ status: 'skip', label: config.SWITCHBOARD_PROVIDER, detail: 'no checks for this carrier yet' }];
}
