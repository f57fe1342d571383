import { afterAll, beforeAll } from 'vitest';
import { runCommand, type CliResult } from './processes.ts';
import { startTestServer, type TestServer } from './server.ts';
import { startFixtureUpstream, type Upstream } from './upstreams.ts';

export type ProcessResult = CliResult;

/**
 * Runs a client example as a user would, from the project root, with only the environment the
 * test names. Asynchronous on purpose: the server under test runs in this very process and must
 * keep answering while the child waits on it.
 */
export const runProcess = runCommand;

/** A live server and a real upstream MCP server for the file's tests, started once and stopped after. */
export function serverWithUpstream(): { readonly server: TestServer; readonly upstream: Upstream } {
  let server: TestServer;
  let upstream: Upstream;
  beforeAll(async () => {
    [server, upstream] = await Promise.all([startTestServer(), startFixtureUpstream('sessions')]);
  });
  afterAll(async () => {
    await upstream?.stop();
    await server?.close();
  });
  return {
    get server() {
      return server;
    },
    get upstream() {
      return upstream;
    },
  };
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
