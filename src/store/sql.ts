/** A constant list of statuses as the inside of an SQL `IN (…)`; the values are our own identifiers, never input. */
export function sqlList(values: readonly string[]): string {
  return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');
}
