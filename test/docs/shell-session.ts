import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export type StepResult = { status: number; stdout: string; stderr: string };

/**
 * One bash, fed step after step as a reader pastes blocks into one terminal: variables exported
 * by a step reach the next, `cd` sticks, `&` leaves a process running. Bash leads a process group
 * of its own, so `close()` ends it with everything it started (servers included) by that group's
 * id, and nothing else.
 *
 * A step fails when any command in it fails, not only its last one (the ERR trap, inherited by
 * command substitutions and pipelines with errtrace and pipefail): `export K=$(false)` succeeds
 * in a plain shell, but the key it leaves empty must fail here.
 */
export class ShellSession {
  private readonly child: ChildProcess;
  private stdout = '';
  private stderr = '';
  private steps = 0;
  private readonly exited: Promise<void>;

  constructor(cwd: string, env: Record<string, string>, private readonly scratch: string) {
    this.child = spawn('bash', ['--noprofile', '--norc'], { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.write(`set -o pipefail -o errtrace\ntrap 'echo "::command-failed ($?): $BASH_COMMAND" >&2' ERR\n`);
  }

  /** Runs `code` in the session as if pasted; resolves when its last command has finished. */
  async run(code: string): Promise<StepResult> {
    const step = ++this.steps;
    const file = path.join(this.scratch, `step-${step}.sh`);
    fs.writeFileSync(file, `${code}\n`);
    const end = `::step-end ${step} `;
    const [outStart, errStart] = [this.stdout.length, this.stderr.length];
    this.child.stdin!.write(`source ${file}; status=$?; echo "${end}$status"; echo "${end}" >&2\n`);
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.stdout.includes(end, outStart) && this.stderr.includes(end, errStart)) return resolve();
        if (this.child.exitCode !== null) return reject(new Error(`the shell exited during step ${step}:\n${this.stderr.slice(errStart)}`));
        setTimeout(check, 100);
      };
      check();
    });
    const stdout = this.stdout.slice(outStart);
    const stderr = this.stderr.slice(errStart);
    const markAt = stdout.indexOf(end);
    return {
      status: Number(stdout.slice(markAt + end.length).split('\n')[0]),
      stdout: stdout.slice(0, markAt),
      stderr: stderr.slice(0, stderr.indexOf(end)),
    };
  }

  /** Ends the shell and every process it started (SIGTERM, then SIGKILL for what lingers). */
  async close(): Promise<void> {
    const group = this.child.pid!;
    const signalGroup = (signal: NodeJS.Signals | 0) => {
      try {
        process.kill(-group, signal);
        return true;
      } catch {
        return false; // ESRCH: the group is gone
      }
    };
    if (!signalGroup('SIGTERM')) return;
    for (let waited = 0; waited < 200 && signalGroup(0); waited++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    signalGroup('SIGKILL');
    await this.exited;
  }
}
