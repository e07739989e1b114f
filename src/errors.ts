/**
 * A failure the caller can fix: bad input, unknown id, an illegal move.
 * MCP handlers turn it into an isError result carrying this sentence verbatim.
 */
export class UserError extends Error {
  override name = 'UserError';
}

export class NotFoundError extends UserError {
  override name = 'NotFoundError';
}
