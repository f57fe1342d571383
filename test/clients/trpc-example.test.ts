import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../scripts/lib/processes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';
import { runProcess, stepsOf } from './run-process.ts';

/** examples/trpc-client.ts, the README's tRPC example, run as is against a live server and upstream. */
const example = path.join(projectRoot, 'examples', 'trpc-client.ts');
const runExample = (args: string[], env: Record<string, string>) => runProcess(process.execPath, ['--import', 'tsx', example, ...args], env);

let server: TestServer;
let upstream: Upstream;

beforeAll(async () => {
  [server, upstream] = await Promise.all([startTestServer(), startFixtureUpstream('sessions')]);
});
afterAll(async () => {
  await upstream?.stop();
  await server?.close();
});

describe('tRPC client example', () => {
  it('creates a namespace and a connection, lists and calls its tools', async () => {
    const { key } = await server.newAccount();
    const run = await runExample([upstream.url, 'add', '{"a":20,"b":22}'], { SWITCHBOARD_URL: server.url, SWITCHBOARD_API_KEY: key });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const steps = stepsOf(run.stdout);
    const namespace = steps.namespace as { name: string };
    const connection = steps.connection as { connectionId: string };
    expect(connection).toMatchObject({ mcpUrl: upstream.url, name: 'trpc-example', metadata: { client: 'trpc' }, status: { state: 'connected' } });
    expect(steps.connections).toEqual([connection.connectionId]);
    expect(steps.tools).toEqual(expect.arrayContaining(['echo', 'add', 'github/create_issue']));
    expect(steps.call).toEqual({ content: [{ type: 'text', text: '42' }] });
    // Made through tRPC, seen through REST.
    const stored = await server.request(`/${namespace.name}/${connection.connectionId}`, { bearer: key });
    expect(await stored.json()).toMatchObject({ connectionId: connection.connectionId, metadata: { client: 'trpc' } });
  });

  it('exits 1 with our error code and status on a bad key', async () => {
    const run = await runExample([upstream.url], { SWITCHBOARD_URL: server.url, SWITCHBOARD_API_KEY: 'sk_not_a_real_key' });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(JSON.parse(run.stderr)).toEqual({ error: 'unauthorized', status: 401, message: expect.any(String) });
  });
});
