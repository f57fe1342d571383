import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clientSettingNames, serviceSettingNames } from '../src/config.ts';
import { parseEnvFile } from '../src/env-file.ts';
import { projectRoot } from './helpers/processes.ts';

/**
 * `.env` at start: the service (`npm start`'s dist/src/start.js) and the `switchboard` bin, each
 * run in a scratch working directory as an operator would, with only PATH and HOME around them.
 */
const scratchDirs: string[] = [];
afterAll(() => scratchDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function scratchDir(envFile?: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-env-file-'));
  scratchDirs.push(dir);
  if (envFile !== undefined) fs.writeFileSync(path.join(dir, '.env'), envFile);
  return dir;
}

type Run = { code: number | null; stdout: string; stderr: string };

/** Runs `args` with node in `cwd`; with `until`, resolves (and stops the child) at the first stdout line matching it. */
function runNode(args: string[], cwd: string, env: Record<string, string>, until?: RegExp): Promise<Run & { line?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let line: string | undefined;
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      line ??= until && stdout.split('\n').find((l) => until.test(l));
      if (line) child.kill('SIGTERM');
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, line }));
  });
}

const startEntry = path.join(projectRoot, 'dist', 'src', 'start.js');
const bin = path.join(projectRoot, 'bin', 'switchboard.js');

function startService(cwd: string, env: Record<string, string> = {}) {
  return runNode([startEntry], cwd, { PORT: '0', LOG_LEVEL: 'info', ...env }, /switchboard listening/);
}

describe('the service reads .env at start', () => {
  it('takes a setting from .env in its working directory, while the real environment wins', async () => {
    const dir = scratchDir('# settings for this test\nDATA_DIR=./from-dotenv\nPUBLIC_URL=http://from-dotenv.example\n');
    const run = await startService(dir, { PUBLIC_URL: 'http://from-environment.example' });
    expect(run.line, run.stdout + run.stderr).toBeDefined();
    const listening = JSON.parse(run.line!) as { dataDir: string; publicUrl: string };
    expect(listening.dataDir).toBe(path.join(fs.realpathSync(dir), 'from-dotenv'));
    expect(listening.publicUrl).toBe('http://from-environment.example');
  });

  it('starts without a .env', async () => {
    const dir = scratchDir();
    const run = await startService(dir);
    expect(run.line, run.stdout + run.stderr).toBeDefined();
    expect((JSON.parse(run.line!) as { dataDir: string }).dataDir).toBe(path.join(fs.realpathSync(dir), 'data'));
  });

  it('refuses a malformed .env, naming the file and the line', async () => {
    const dir = scratchDir('PORT=0\nSWITCHBOARD_SECRET\n');
    const run = await startService(dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`switchboard: ${path.join(dir, '.env')}, line 2: expected NAME=value, a # comment or a blank line (values on one line each)\n`);
  });

  it('refuses an ENV_FILE that does not exist', async () => {
    const dir = scratchDir();
    const run = await startService(dir, { ENV_FILE: 'missing.env' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^switchboard: cannot read the env file .*missing\.env: no such file/);
  });
});

describe('the switchboard command reads .env at start', () => {
  const requests: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((request, response) => {
    requests.push(request.headers);
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"namespaces":[],"nextCursor":null}');
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it('talks to the server .env names, with the API key the real environment sets', async () => {
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dir = scratchDir(`SWITCHBOARD_URL=${url}\nexport SWITCHBOARD_API_KEY="sk_from_dotenv"\n`);
    const run = await runNode([bin, 'namespaces', 'list', '--json'], dir, { SWITCHBOARD_API_KEY: 'sk_from_environment' });
    expect(requests.map((headers) => headers.authorization)).toEqual(['Bearer sk_from_environment']);
    expect(run.code, run.stderr).toBe(0);
  });

  it('reads the file ENV_FILE names, and runs without any', async () => {
    const dir = scratchDir('SWITCHBOARD_URL=not a url\n');
    fs.writeFileSync(path.join(dir, 'other.env'), 'SWITCHBOARD_URL=also not a url\n');
    const named = await runNode([bin, 'namespaces', 'list'], dir, { ENV_FILE: 'other.env', SWITCHBOARD_API_KEY: 'sk_x' });
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/SWITCHBOARD_URL: must be an http\(s\) URL/);
    const none = await runNode([bin, '--version'], scratchDir(), {});
    expect(none).toMatchObject({ code: 0, stderr: '' });
  });
});

describe('parseEnvFile', () => {
  it.each([
    ['A=1\nB="two words"\n', { A: '1', B: 'two words' }],
    ['# a comment\n\nexport A=1\r\n', { A: '1' }],
    ["A='single'\nB=x # trailing comment\n", { A: 'single', B: 'x' }],
  ])('reads %j', (text, expected) => {
    expect(parseEnvFile(text, '.env')).toEqual(expected);
  });

  it.each(['A=1\nnot an assignment\nB=2\n', 'A=1\n1BAD=2\n', 'A="multi\nline"\n'])('refuses %j', (text) => {
    expect(() => parseEnvFile(text, '.env')).toThrow(/\.env, line 2: expected NAME=value/);
  });
});

describe('.env.example', () => {
  const text = fs.readFileSync(path.join(projectRoot, '.env.example'), 'utf8');

  it('is a valid env file, setting nothing but the secrets to fill in', () => {
    expect(parseEnvFile(text, '.env.example')).toEqual({ SWITCHBOARD_SECRET: '', POSTGRES_PASSWORD: '' });
  });

  it('lists every variable the service, the CLI and compose.yaml read, and no other', () => {
    const listed = [...text.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]);
    const compose = fs.readFileSync(path.join(projectRoot, 'compose.yaml'), 'utf8');
    const interpolated = [...compose.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((match) => match[1]!);
    const read = new Set([...serviceSettingNames, ...clientSettingNames, ...interpolated]);
    expect([...listed].sort()).toEqual([...read].sort());
  });

  // systemd's EnvironmentFile and docker's --env-file keep a trailing "# …" as part of the value.
  it('has its comments on lines of their own, so that an uncommented line works outside Node too', () => {
    expect(text).not.toMatch(/^#? ?[A-Z][A-Z0-9_]*=\S*[ \t]+#/m);
  });
});
