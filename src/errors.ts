/**
 * An error caused by the user's input (bad path, bad option, missing package).
 * The CLI prints its message as one line and exits with status 2, without a stack trace.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
