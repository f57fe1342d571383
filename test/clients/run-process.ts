import { spawn } from 'node:child_process';
import { projectRoot } from '../../scripts/lib/processes.ts';

export type ProcessResult = { code: number | null; stdout: string; stderr: string };

/**
 * Runs a client example as a user would, from the project root, with only the environment the
 * test names (plus PATH and HOME). Asynchronous on purpose: the server under test runs in this
 * very process and must keep answering while the child waits on it.
 */
export function runProcess(command: string, args: string[], env: Record<string, string>): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: projectRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The JSON lines an example prints, one object per step, keyed by step. */
export function stepsOf(stdout: string): Record<string, unknown> {
  const lines = stdout.split('\n').filter(Boolean);
  return Object.fromEntries(
    lines.map((line) => {
      const { step, result } = JSON.parse(line) as { step: string; result: unknown };
      return [step, result];
    }),
  );
}
