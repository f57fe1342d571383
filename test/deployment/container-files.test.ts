import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, startServerProcess, type ServerProcess } from '../helpers/processes.ts';

/**
 * The Dockerfile and compose.yaml hold what docs/deployment.md promises, and their health checks
 * work: each check's command, exactly as written there, runs against a started service and
 * against a stopped one. (No container runtime runs here; the image build itself is described
 * in docs/deployment.md.)
 */
type Instruction = { keyword: string; args: string };
type Stage = { name: string; instructions: Instruction[] };

function dockerfileStages(text: string): Stage[] {
  const logical = text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword, args] = /^(\S+)\s+(.*)$/.exec(line)!;
    if (keyword!.toUpperCase() === 'FROM') stages.push({ name: / AS (\S+)$/i.exec(args!)?.[1] ?? '', instructions: [] });
    stages.at(-1)!.instructions.push({ keyword: keyword!.toUpperCase(), args: args! });
  }
  return stages;
}

const dockerfile = dockerfileStages(fs.readFileSync(path.join(projectRoot, 'Dockerfile'), 'utf8'));
const compose = fs.readFileSync(path.join(projectRoot, 'compose.yaml'), 'utf8');
const runtime = dockerfile.at(-1)!;
const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
const runtimeEnv = Object.fromEntries(all(runtime, 'ENV').flatMap((args) => [...args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])));

/** Runs an exec-form command (a JSON array, as HEALTHCHECK and compose write it) with `env`; resolves to its exit code. */
function runExecForm(command: string[], env: Record<string, string>): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const [program, ...args] = command;
    const child = spawn(program === 'node' ? process.execPath : program!, args, { env: { PATH: process.env.PATH, ...env }, stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

describe('Dockerfile', () => {
  it('builds in one stage and runs from another with production dependencies only', () => {
    expect(dockerfile.map((stage) => stage.name)).toEqual(['build', 'runtime']);
    expect(all(dockerfile[0]!, 'RUN')).toEqual(expect.arrayContaining([expect.stringMatching(/^npm ci\b/), 'npm run build']));
    expect(all(runtime, 'RUN').some((run) => /^npm ci --omit=dev\b/.test(run))).toBe(true);
    expect(all(runtime, 'COPY')).toContain('--from=build /app/dist ./dist');
  });

  // npm ci runs postinstall (patch-package), which fails the install when patches/ is missing.
  it.each(['build', 'runtime'])('copies patches/ before npm ci in the %s stage', (name) => {
    const instructions = dockerfile.find((stage) => stage.name === name)!.instructions;
    const patches = instructions.findIndex((i) => i.keyword === 'COPY' && /^patches\s/.test(i.args));
    const install = instructions.findIndex((i) => i.keyword === 'RUN' && /^npm ci\b/.test(i.args));
    expect(patches).toBeGreaterThan(-1);
    expect(patches).toBeLessThan(install);
  });

  it('runs as a non-root user, in production, with DATA_DIR as a volume and PORT exposed', () => {
    expect(all(runtime, 'USER')).toEqual(['node']);
    expect(runtimeEnv).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0' });
    expect(all(runtime, 'VOLUME')).toEqual([JSON.stringify([runtimeEnv.DATA_DIR])]);
    expect(all(runtime, 'EXPOSE')).toEqual([runtimeEnv.PORT]);
    expect(all(runtime, 'CMD')).toEqual(['["node", "dist/src/start.js"]']);
  });
});

describe('compose.yaml', () => {
  it('waits for a healthy PostgreSQL 16 kept in a named volume, and takes the secret from .env', () => {
    expect(compose).toMatch(/image: postgres:16\b/);
    expect(compose).toMatch(/- postgres-data:\/var\/lib\/postgresql\/data/);
    expect(compose).toMatch(/depends_on:\s+postgres:\s+condition: service_healthy/);
    expect(compose).toMatch(/env_file: \.env/);
    expect(compose).toMatch(/SWITCHBOARD_SECRET: \$\{SWITCHBOARD_SECRET:\?/);
  });
});

describe('the health checks, run as written', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-healthcheck-'));
  let server: ServerProcess;
  let port: string;
  beforeAll(async () => {
    server = await startServerProcess({ DATA_DIR: dataDir });
    port = new URL(server.url).port;
  });
  afterAll(async () => {
    if (server.child.exitCode === null) await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const dockerfileCheck = JSON.parse(/CMD (\[.*\])$/.exec(all(runtime, 'HEALTHCHECK')[0]!)![1]!) as string[];
  // compose's check names the port the container listens on; here it is the test server's.
  const composeCheck = (JSON.parse(/test: (\["CMD", "node".*\])/.exec(compose)![1]!) as string[]).slice(1);

  it('pass while the service answers, and fail once it has stopped', async () => {
    const composeHere = composeCheck.map((arg) => arg.replace('127.0.0.1:8080', `127.0.0.1:${port}`));
    expect(await runExecForm(dockerfileCheck, { PORT: port })).toBe(0);
    expect(await runExecForm(composeHere, {})).toBe(0);
    await server.stop();
    expect(await runExecForm(dockerfileCheck, { PORT: port })).toBe(1);
    expect(await runExecForm(composeHere, {})).toBe(1);
  });
});
