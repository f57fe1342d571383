import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { freePort, projectRoot, spawnUntilReady } from './processes.ts';
import { fixtureArgs } from './compiled-fixtures.ts';

/** A port nobody listens on right now (also what a "connection refused" test points at). */
export { freePort };

/** A real upstream MCP server in a child process, on a loopback port. */
export type Upstream = {
  port: number;
  /** The MCP endpoint. */
  url: string;
  /** Kills the process (its sessions die with it). */
  stop(): Promise<void>;
  /** Starts it again on the same port, with no memory of earlier sessions. */
  restart(): Promise<void>;
};

type Launch = { args: string[]; env: Record<string, string>; ready: RegExp; mcpPath: string };

export type FixtureMode = 'sessions' | 'modern' | 'html' | 'hang';

/** Our fixture server (test/fixtures/upstream-server.ts) in one of its modes. */
export function startFixtureUpstream(
  mode: FixtureMode,
  options: { requireApiKey?: string; configSchema?: boolean; misbehave?: boolean } = {},
): Promise<Upstream> {
  const env: Record<string, string> = {};
  if (options.misbehave) env.MISBEHAVE = '1';
  if (options.requireApiKey) env.REQUIRE_API_KEY = options.requireApiKey;
  if (options.configSchema) env.CONFIG_SCHEMA = '1';
  return startUpstream((port) => ({
    args: [...fixtureArgs(path.join(projectRoot, 'test', 'fixtures', 'upstream-server.ts')), mode, String(port)],
    env,
    ready: /^listening \d+/m,
    mcpPath: '/mcp',
  }));
}

/** test/fixtures/session-upstream.ts: SDK 1.x sessions that send log messages and list_changed on their own. */
export function startSessionUpstream(): Promise<Upstream> {
  return startUpstream((port) => ({
    args: [...fixtureArgs(path.join(projectRoot, 'test', 'fixtures', 'session-upstream.ts')), String(port)],
    env: {},
    ready: /^listening \d+/m,
    mcpPath: '/mcp',
  }));
}

/** test/fixtures/modern-features-upstream.ts: 2026-07-28 only, with cancellation, progress, elicitation and listen streams to observe. */
export function startModernFeaturesUpstream(): Promise<Upstream> {
  return startUpstream((port) => ({
    args: [...fixtureArgs(path.join(projectRoot, 'test', 'fixtures', 'modern-features-upstream.ts')), String(port)],
    env: {},
    ready: /^listening \d+/m,
    mcpPath: '/mcp',
  }));
}

/** The reference server of the MCP project, `@modelcontextprotocol/server-everything`, over Streamable HTTP. */
export function startServerEverything(): Promise<Upstream> {
  const entry = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
  return startUpstream((port) => ({
    args: [entry, 'streamableHttp'],
    env: { PORT: String(port) },
    ready: /listening on port \d+/,
    mcpPath: '/mcp',
  }));
}

async function startUpstream(launch: (port: number) => Launch): Promise<Upstream> {
  let port = 0;
  let child: ChildProcess | undefined;
  const start = async () => {
    const { args, env, ready } = launch(port);
    child = await spawnUntilReady(args, env, ready);
  };
  // A free port is only free when asked: another test file may bind it before the child does.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (error) {
      if (attempt === 3 || !String((error as Error).message).includes('EADDRINUSE')) throw error;
    }
  }
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  return {
    port,
    url: `http://127.0.0.1:${port}${launch(port).mcpPath}`,
    stop,
    async restart() {
      await stop();
      await start();
    },
  };
}
