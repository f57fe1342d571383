import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

/**
 * Settings from a `.env` file, read once when a process starts (the service and the CLI), before
 * `loadConfig` reads the environment. It only fills in: a variable the real environment sets,
 * even to an empty string, keeps its value, so a deployment's environment always wins over a file
 * left in the working directory. `src/config.ts` stays the one reader of the settings.
 */

export class EnvFileError extends Error {
  override name = 'EnvFileError';
}

// `NAME=value` or `export NAME=value`; Node's parser would otherwise swallow a stray line into
// the next variable's name, silently losing a setting.
const ASSIGNMENT = /^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=/;
const IGNORED = /^\s*(#.*)?$/;

/** The variables a file's text sets; a line that is neither `NAME=value`, a comment nor blank is an error. */
export function parseEnvFile(text: string, file: string): Record<string, string> {
  const lines = text.split(/\r?\n/);
  const bad = lines.findIndex((line) => !ASSIGNMENT.test(line) && !IGNORED.test(line));
  if (bad !== -1) {
    throw new EnvFileError(`${file}, line ${bad + 1}: expected NAME=value, a # comment or a blank line (values on one line each)`);
  }
  return parseEnv(text) as Record<string, string>;
}

/**
 * Which file to read: `ENV_FILE` when set (it must exist; `/dev/null` reads none), otherwise
 * `.env` in `cwd` when there is one.
 */
function envFilePath(env: NodeJS.ProcessEnv, cwd: string): { file: string; required: boolean } {
  const named = env.ENV_FILE;
  if (named) return { file: path.resolve(cwd, named), required: true };
  return { file: path.join(cwd, '.env'), required: false };
}

/**
 * Reads the env file into `env`, setting only variables `env` lacks. Returns the file read, or
 * undefined when there was none to read; an unreadable or malformed file throws `EnvFileError`.
 */
export function applyEnvFile(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string | undefined {
  const { file, required } = envFilePath(env, cwd);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    const reason = code === 'ENOENT' ? 'no such file (ENV_FILE names it)' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new EnvFileError(`cannot read the env file ${file}: ${reason}`);
  }
  for (const [name, value] of Object.entries(parseEnvFile(text, file))) {
    if (!(name in env)) env[name] = value;
  }
  return file;
}

/** For a process's entry point: applies the env file, or says why not on stderr and exits 2 (like a bad setting). */
export function applyEnvFileOrExit(): void {
  try {
    applyEnvFile();
  } catch (error) {
    if (!(error instanceof EnvFileError)) throw error;
    process.stderr.write(`switchboard: ${error.message}\n`);
    process.exit(2);
  }
}
