/** One line of `switchboard doctor`: what a carrier adapter (or the rest of the setup) says about its configuration. */
export type DoctorCheck = { status: 'ok' | 'warn' | 'fail' | 'skip'; label: string; detail: string };
