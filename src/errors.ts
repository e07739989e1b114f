/** What kind of refusal a UserError is, for programs (the CLI, a dashboard, tests) rather than people. */
export type ErrorCode = 'invalid_input' | 'not_found' | 'conflict' | 'refused' | 'carrier_refused' | 'disk_full';

/** The things a caller can list to find a valid id. */
export type Listable = 'calls' | 'missions' | 'messages' | 'assistants';

/**
 * What the caller could do next, said as data: each face (MCP tools, the CLI) phrases it in its own terms,
 * so the domain never names a tool or an environment variable.
 */
export type Hint =
  | { see: 'list'; of: Listable }
  | { see: 'call'; callId: string }
  | { see: 'message'; messageId: string }
  | { see: 'open_steps' }
  | { see: 'setting'; setting: 'default_caller_id' };

/**
 * A failure the caller can fix: bad input, unknown id, an illegal move. MCP handlers turn it into an
 * isError result carrying this sentence, followed by the hint in their own words.
 */
export class UserError extends Error {
  override name = 'UserError';
  readonly code: ErrorCode;
  readonly hint: Hint | undefined;

  constructor(message: string, opts: { code?: ErrorCode; hint?: Hint } = {}) {
    super(message);
    this.code = opts.code ?? 'invalid_input';
    this.hint = opts.hint;
  }
}

export class NotFoundError extends UserError {
  override name = 'NotFoundError';
  constructor(message: string, list?: Listable) {
    super(message, { code: 'not_found', hint: list && { see: 'list', of: list } });
  }
}
