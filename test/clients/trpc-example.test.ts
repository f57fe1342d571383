import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/processes.ts';
import { runProcess, serverWithUpstream, stepsOf } from '../helpers/run-process.ts';

/** examples/trpc-client.ts, the tRPC example of docs/clients.md, run as is against a live server and upstream. */
const example = path.join(projectRoot, 'examples', 'trpc-client.ts');
const runExample = (args: string[], env: Record<string, string>) => runProcess(process.execPath, ['--import', 'tsx', example, ...args], env);

const live = serverWithUpstream();

describe('tRPC client example', () => {
  it('creates a namespace and a connection, lists and calls its tools', async () => {
    const { key } = await live.server.newAccount();
    const run = await runExample([live.upstream.url, 'add', '{"a":20,"b":22}'], { SWITCHBOARD_URL: live.server.url, SWITCHBOARD_API_KEY: key });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const steps = stepsOf(run.stdout);
    const namespace = steps.namespace as { name: string };
    const connection = steps.connection as { connectionId: string };
    expect(connection).toMatchObject({ mcpUrl: live.upstream.url, name: 'trpc-example', metadata: { client: 'trpc' }, status: { state: 'connected' } });
    expect(steps.connections).toEqual([connection.connectionId]);
    expect(steps.tools).toEqual(expect.arrayContaining(['echo', 'add', 'github/create_issue']));
    expect(steps.call).toEqual({ content: [{ type: 'text', text: '42' }] });
    // Made through tRPC, seen through REST.
    const stored = await live.server.request(`/${namespace.name}/${connection.connectionId}`, { bearer: key });
    expect(await stored.json()).toMatchObject({ connectionId: connection.connectionId, metadata: { client: 'trpc' } });
  });

  it('exits 1 with our error code and status on a bad key', async () => {
    const run = await runExample([live.upstream.url], { SWITCHBOARD_URL: live.server.url, SWITCHBOARD_API_KEY: 'sk_not_a_real_key' });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(JSON.parse(run.stderr)).toEqual({ error: 'unauthorized', status: 401, message: expect.any(String) });
  });
});
