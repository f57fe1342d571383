import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/processes.ts';

const BUILT_ENTRY = path.join(projectRoot, 'dist', 'src', 'start.js');
const dataDirs: string[] = [];
afterAll(() => {
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * The service with a terminal for its stdout (util-linux `script`), started on an address
 * this machine does not have, so it logs its start-up and a fatal line, then exits by itself.
 */
function startOnTerminal(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-log-format-'));
  dataDirs.push(dataDir);
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/script', ['-q', '-e', '-c', `${process.execPath} ${BUILT_ENTRY}`, '/dev/null'], {
      cwd: projectRoot,
      // 203.0.113.1 is TEST-NET-3: never an address of this machine.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm-256color', DATA_DIR: dataDir, PORT: '0', HOST: '203.0.113.1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end();
  });
}

describe.runIf(fs.existsSync('/usr/bin/script'))('log format on a terminal', { timeout: 180_000 }, () => {
  it('is readable and coloured by default, and JSON when LOG_FORMAT=json says so', async () => {
    const [readable, json] = await Promise.all([startOnTerminal({}), startOnTerminal({ LOG_FORMAT: 'json' })]);
    expect(readable.code).toBe(1);
    // The fatal line, in colour, with the reason below it; no JSON line anywhere.
    expect(readable.output).toMatch(/\x1b\[[0-9;]*m.*FATAL.*failed to start/);
    expect(readable.output).toMatch(/HOST 203\.0\.113\.1 is not an address of this machine/);
    expect(readable.output).not.toMatch(/^\{"level"/m);

    expect(json.code).toBe(1);
    const fatal = json.output.split(/\r?\n/).find((line) => line.includes('failed to start'));
    expect(JSON.parse(fatal!)).toMatchObject({ level: 60, msg: 'failed to start', err: { message: 'HOST 203.0.113.1 is not an address of this machine' } });
    expect(json.output).not.toMatch(/\x1b\[/);
  });
});
