import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

type Env = Record<string, string | undefined>;

function childEnv(env: Env): NodeJS.ProcessEnv {
  // Only what the test names, plus PATH/HOME: the developer's own DATABASE_URL must not leak in,
  // neither from their environment nor from a .env in the checkout (ENV_FILE=/dev/null reads none).
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ENV_FILE: '/dev/null', ...env };
}

export type CliResult = { code: number | null; stdout: string; stderr: string };

/**
 * Runs the `switchboard` CLI in a child process, from the build in dist/ (see built-cli.mjs;
 * run `buildService()` first): the bin's code, compiled once rather than by every child.
 */
export function runCli(args: string[], env: Env): Promise<CliResult> {
  return runCommand(process.execPath, [BUILT_CLI, ...args], env);
}

/** Runs the `switchboard` bin exactly as `npx switchboard …` would (from the TypeScript sources). */
export function runBin(args: string[], env: Env): Promise<CliResult> {
  return runCommand(process.execPath, [path.join(projectRoot, 'bin', 'switchboard.js'), ...args], env);
}

export const BUILT_CLI = path.join(projectRoot, 'test', 'helpers', 'built-cli.mjs');

/** Runs a command from the project root with only `env` (plus PATH, HOME), collecting its output. */
export function runCommand(command: string, args: string[], env: Env): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: projectRoot,
      env: childEnv(env),
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

export type ServerProcess = {
  child: ChildProcess;
  url: string;
  startupMs: number;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

const BUILT_ENTRY = path.join(projectRoot, 'dist', 'src', 'start.js');

/** `npm run build`: compiles the service into dist/ (incremental: quick when nothing changed). */
export function buildService(): void {
  execFileSync(process.execPath, [path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: projectRoot,
    stdio: 'inherit',
  });
}

/** Starts the service as `npm start` does, from the build; resolves once it logs that it listens. */
export function startServerProcess(env: Env): Promise<ServerProcess> {
  if (!fs.existsSync(BUILT_ENTRY)) {
    return Promise.reject(new Error(`${path.relative(projectRoot, BUILT_ENTRY)} is missing: run npm run build first`));
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUILT_ENTRY], {
      cwd: projectRoot,
      // Test and bench upstreams listen on loopback, which production refuses (SSRF).
      env: childEnv({ PORT: '0', ALLOWED_UPSTREAM_HOSTS: '127.0.0.1,localhost,::1', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let listening = false;
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    // Keep draining the pipes for the whole life of the child (a full pipe would stall its
    // logging), remembering only the most recent output.
    const append = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 1_000_000) output = output.slice(-500_000);
    };
    child.stderr!.on('data', append);
    child.stdout!.on('data', (chunk: Buffer) => {
      append(chunk);
      if (listening) return;
      const line = output.split('\n').slice(0, -1).find((l) => l.includes('switchboard listening'));
      if (!line) return;
      listening = true;
      const entry = JSON.parse(line) as { url: string; startupMs: number };
      resolve({
        child,
        url: entry.url,
        startupMs: entry.startupMs,
        output: () => output,
        async stop(signal = 'SIGTERM') {
          child.kill(signal);
          return exited;
        },
      });
    });
    exited.then((code) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
  });
}

/**
 * Starts a child process and resolves once its output (stdout or stderr) matches `ready`.
 * The child gets only PATH, HOME and `env`: some test servers print their whole environment.
 */
export function spawnUntilReady(args: string[], env: Env, ready: RegExp, timeoutMs = 90_000): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: projectRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      if (output.length < 100_000) output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code} before it was ready:\n${output}`));
    });
  });
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
