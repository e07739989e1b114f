import { UserError } from './errors.js';

/**
 * A transition table: each status lists the statuses it may move to. Statuses with no exits are terminal.
 * Every state change of a call, message, step or mission goes through one of these.
 */
export class StateMachine<S extends string> {
  constructor(
    readonly thing: string,
    private readonly table: Readonly<Record<S, readonly S[]>>,
  ) {}

  get statuses(): S[] {
    return Object.keys(this.table) as S[];
  }

  isTerminal(status: S): boolean {
    return this.table[status].length === 0;
  }

  canMove(from: S, to: S): boolean {
    return this.table[from].includes(to);
  }

  /** Throws a UserError that names the legal moves when `from → to` is not one of them. */
  assertMove(from: S, to: S, label = this.thing): void {
    if (this.canMove(from, to)) return;
    const exits = this.table[from];
    const hint = exits.length === 0 ? `${from} is final` : `from ${from} it may only move to ${exits.join(' or ')}`;
    throw new UserError(`${label} cannot move from ${from} to ${to}: ${hint}.`, { code: 'conflict' });
  }
}
