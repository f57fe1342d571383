import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServerProcess, type ServerProcess } from '../helpers/processes.ts';
import { createScratchDatabase } from '../helpers/scratch-database.ts';
import { CANARY_PREFIX, canary } from '../helpers/canary.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * SIGTERM to a Switchboard process started as `npm start` would, while a tool call streams
 * its progress: the process stops accepting connections at once, lets the stream finish
 * within SHUTDOWN_GRACE_MS (or cuts it when the grace period is over), and exits with 0.
 */

type JsonRpcMessage = {
  jsonrpc: '2.0';
  id?: string | number | null;
  method?: string;
  params?: { progressToken?: string; progress?: number; total?: number };
  result?: { content?: { type: string; text: string }[] };
  error?: unknown;
};

type StreamOutcome = {
  progress: number[];
  result?: string;
  /** A JSON-RPC error in place of the result. */
  error?: unknown;
  /** How the body ended: read to its end, or broken off (the error undici reports). */
  ending: 'complete' | 'broken';
  endedAt: number;
};

const apiKey = canary('upstream-key');
let upstream: Upstream;
let baseEnv: Record<string, string>;
let dropDatabase: () => Promise<void> = async () => {};
let dataDir: string;
let key: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-shutdown-'));
  baseEnv = { DATA_DIR: dataDir };
  if (testDatabaseKind === 'postgres') {
    const scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!, 'sb_shutdown');
    dropDatabase = scratch.drop;
    baseEnv = { ...baseEnv, DATABASE_URL: scratch.url, SWITCHBOARD_SECRET: randomBytes(32).toString('base64url') };
  }
  // The key is made before any process serves: PGlite's data directory belongs to one process.
  const [fixture, created] = await Promise.all([
    startFixtureUpstream('sessions', { requireApiKey: apiKey }),
    runCli(['api-keys', 'create', '--name', 'shutdown', '--json'], baseEnv),
  ]);
  upstream = fixture;
  expect(created.code, created.stderr).toBe(0);
  key = (JSON.parse(created.stdout) as { key: string }).key;
});

afterAll(async () => {
  await upstream?.stop();
  await dropDatabase();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A process with a namespace and a connection to the fixture, ready for a tool call. */
async function startWithConnection(graceMs: number): Promise<{ server: ServerProcess; exited: Promise<number | null>; mcpPath: string }> {
  const server = await startServerProcess({ ...baseEnv, SHUTDOWN_GRACE_MS: String(graceMs) });
  const exited = new Promise<number | null>((resolve) => server.child.once('close', (code) => resolve(code)));
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const namespace = await fetch(`${server.url}/namespaces`, { method: 'POST', headers: { authorization: headers.authorization } });
  expect(namespace.status).toBe(201);
  const { name } = (await namespace.json()) as { name: string };
  const created = await fetch(`${server.url}/${name}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ mcpUrl: upstream.url, headers: { 'x-api-key': apiKey } }),
  });
  const connection = (await created.json()) as { connectionId: string; status: unknown };
  expect(created.status, JSON.stringify(connection)).toBe(201);
  expect(connection.status).toEqual({ state: 'connected' });
  return { server, exited, mcpPath: `/connect/${name}/${connection.connectionId}/mcp` };
}

/** Calls the fixture's `progress` tool over the MCP endpoint and reads the SSE body as it arrives. */
async function streamProgress(
  server: ServerProcess,
  mcpPath: string,
  args: { steps: number; delayMs: number },
  onFirstProgress: () => void,
): Promise<StreamOutcome> {
  const response = await fetch(`${server.url}${mcpPath}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': 'smithery-stateless',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 'long', method: 'tools/call', params: { name: 'progress', arguments: args, _meta: { progressToken: 'pt' } } }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const outcome: StreamOutcome = { progress: [], ending: 'complete', endedAt: 0 };
  const take = (event: string) => {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trim())
      .join('\n');
    if (data === '') return;
    const message = JSON.parse(data) as JsonRpcMessage;
    if (message.method === 'notifications/progress') {
      outcome.progress.push(message.params!.progress!);
      if (outcome.progress.length === 1) onFirstProgress();
    } else if (message.id === 'long') {
      outcome.result = message.result?.content?.[0]?.text;
      if (message.error) outcome.error = message.error;
    }
  };
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += value;
      const events = buffer.split(/\r?\n\r?\n/);
      buffer = events.pop()!;
      events.forEach(take);
    }
    take(buffer);
  } catch {
    outcome.ending = 'broken';
  }
  outcome.endedAt = performance.now();
  return outcome;
}

/** Polls until a new TCP connection to the port is refused; returns when, or throws after `withinMs`. */
async function refusedWithin(port: number, withinMs: number): Promise<number> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const code = await new Promise<string | undefined>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    });
    if (code === 'ECONNREFUSED') return performance.now();
    if (Date.now() > deadline) throw new Error(`new connections still accepted ${withinMs} ms after SIGTERM (last: ${code ?? 'connected'})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The exit code, or an error once `withinMs` has passed without an exit. */
function exitWithin(exited: Promise<number | null>, withinMs: number): Promise<{ code: number | null; at: number }> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    exited.then((code) => ({ code, at: performance.now() })),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still running ${withinMs} ms after SIGTERM`)), withinMs))),
  ]).finally(() => clearTimeout(timer));
}

const portOf = (server: ServerProcess) => Number(new URL(server.url).port);

describe(`graceful shutdown on SIGTERM (${testDatabaseKind})`, () => {
  it('lets a streaming tool call finish within the grace period while refusing new connections, then exits 0', async () => {
    const { server, exited, mcpPath } = await startWithConnection(10_000);
    try {
      // Settled into a value at once: it is awaited only once the stream has ended.
      let refused: Promise<number | Error> | undefined;
      const stream = await streamProgress(server, mcpPath, { steps: 6, delayMs: 300 }, () => {
        server.child.kill('SIGTERM');
        refused = refusedWithin(portOf(server), 2_000).catch((error: Error) => error);
      });
      expect(refused, 'SIGTERM was sent after the first progress event').toBeDefined();
      const refusedAt = await refused!;
      if (refusedAt instanceof Error) throw refusedAt;

      expect(stream).toEqual({ progress: [1, 2, 3, 4, 5, 6], result: 'done after 6 steps', ending: 'complete', endedAt: expect.any(Number) });
      // Ordering facts: it stopped accepting while the stream still ran, and exited only after it.
      expect(refusedAt).toBeLessThan(stream.endedAt);
      const exit = await exitWithin(exited, 15_000);
      expect(exit.code).toBe(0);
      expect(exit.at).toBeGreaterThanOrEqual(stream.endedAt);

      expect(server.output()).toContain('shutting down');
      // Once the stream has ended nothing is in flight: the client's idle kept-alive socket must
      // not hold the process until the grace period runs out.
      expect(server.output(), 'waited for the whole grace period').not.toContain('grace period over');
      expect(server.output()).not.toContain(CANARY_PREFIX);
      expect(server.output()).not.toContain(key);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('cuts a stream still running when the grace period is over, and exits 0', async () => {
    const { server, exited, mcpPath } = await startWithConnection(500);
    try {
      const stream = await streamProgress(server, mcpPath, { steps: 10, delayMs: 400 }, () => server.child.kill('SIGTERM'));
      // The client sees the response end early: no result, not every step.
      expect(stream.ending).toBe('broken');
      expect(stream.result).toBeUndefined();
      expect(stream.error).toBeUndefined();
      expect(stream.progress.length).toBeGreaterThanOrEqual(1);
      expect(stream.progress.length).toBeLessThan(10);

      const exit = await exitWithin(exited, 10_000);
      expect(exit.code).toBe(0);
      expect(server.output()).toContain('shutting down');
      expect(server.output()).toContain('grace period over');
      expect(server.output()).not.toContain(CANARY_PREFIX);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});
