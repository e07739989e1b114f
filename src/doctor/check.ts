/** One line of `switchboard doctor`. */
export type DoctorCheck = { status: 'ok' | 'warn' | 'fail' | 'skip'; label: string; detail: string };
