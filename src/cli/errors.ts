import { ConfigError } from '../config.ts';

/**
 * The command line was wrong (exit 2): nothing was sent anywhere or changed. `choices` are
 * lines printed after the one-line message, when the way out is to pick one of them.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly choices?: readonly string[],
  ) {
    super(message);
  }
}

/** The server answered with an error, or could not be reached (exit 1). */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Prints the one line a failure gets (`switchboard: …`) and returns the exit code. */
export function reportFailure(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  // One line, always: a server message or a config report may span several.
  const oneLine = message.replace(/:\s*\n\s*/g, ': ').replace(/\s*\n\s*/g, '; ').trim();
  process.stderr.write(`switchboard: ${oneLine}\n`);
  if (error instanceof UsageError && error.choices) process.stderr.write(`${error.choices.join('\n')}\n`);
  return error instanceof UsageError || error instanceof ConfigError ? 2 : 1;
}
