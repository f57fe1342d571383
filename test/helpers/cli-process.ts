import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import { BUILT_CLI, projectRoot } from './processes.ts';

export type CliRun = { code: number | null; stdout: string; stderr: string };

/**
 * The `switchboard` CLI in a child process with only PATH, HOME and `env` (no DATA_DIR or
 * DATABASE_URL: the HTTP commands must not need them); `input` goes to stdin. It runs from the
 * build the global setup made (test/cli.test.ts runs the bin itself, from the sources).
 */
export function sb(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUILT_CLI, ...args], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** A failure as the CLI promises it: the exit code, and exactly one line on stderr. */
export function expectOneLineError(result: CliRun, code: number, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stderr).toMatch(/^switchboard: [^\n]+\n$/);
  expect(result.stderr).toMatch(pattern);
}
