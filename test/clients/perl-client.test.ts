import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/processes.ts';
import { runProcess, serverWithUpstream, stepsOf } from '../helpers/run-process.ts';

/**
 * clients/perl/switchboard-example.pl, driven by our OpenAPI document through Debian's
 * OpenAPI::Client (installed by test/setup/perl-openapi-client.ts), against a live server and
 * a real upstream MCP server.
 */
const script = path.join(projectRoot, 'clients', 'perl', 'switchboard-example.pl');
const validatorCache = path.join(projectRoot, 'clients', 'perl', 'json-validator-cache');

const live = serverWithUpstream();

describe('Perl OpenAPI::Client example', () => {
  it('loads /openapi.json from the server, creates a connection, lists and calls tools', async () => {
    const { key } = await live.server.newAccount();
    const run = await runProcess('perl', [script, live.upstream.url, 'add', '{"a":2,"b":40}'], {
      SWITCHBOARD_URL: live.server.url,
      SWITCHBOARD_API_KEY: key,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const steps = stepsOf(run.stdout);
    const namespace = steps.namespace as { name: string };
    const connection = steps.connection as { connectionId: string };
    expect(namespace.name).toMatch(/^[a-z0-9-]{3,39}$/);
    expect(connection).toMatchObject({ mcpUrl: live.upstream.url, name: 'perl-example', metadata: { client: 'perl' }, status: { state: 'connected' } });
    // Listed through the metadata filter, which the script adds by hand (see its comment).
    expect(steps.connections).toEqual([connection.connectionId]);
    expect(steps.tools).toEqual(expect.arrayContaining(['echo', 'add', 'github/create_issue']));
    expect(steps.call).toEqual({ content: [{ type: 'text', text: '42' }] });
    expect(steps.missing).toEqual({ status: 404, body: { error: 'not_found', message: expect.any(String) } });

    // What the script made is really there, seen through REST.
    const stored = await live.server.request(`/${namespace.name}/${connection.connectionId}`, { bearer: key });
    expect(stored.status).toBe(200);
  });

  it('works from the committed openapi.json, calls a slashed tool, and fails with the API error on a bad key', async () => {
    const { key } = await live.server.newAccount();
    const env = { SWITCHBOARD_URL: live.server.url, SWITCHBOARD_OPENAPI: 'openapi.json' };
    const run = await runProcess('perl', [script, live.upstream.url, 'github/create_issue', '{"title":"from Perl"}'], {
      ...env,
      SWITCHBOARD_API_KEY: key,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(stepsOf(run.stdout).call).toEqual({ content: [{ type: 'text', text: 'created from Perl' }] });

    const refused = await runProcess('perl', [script, live.upstream.url], { ...env, SWITCHBOARD_API_KEY: 'sk_not_a_real_key' });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(JSON.parse(refused.stderr)).toEqual({
      operation: 'namespaces-create',
      status: 401,
      body: { error: 'unauthorized', message: expect.any(String) },
    });
    // JSON::Validator saves what it downloads into that directory; the script must leave it as committed.
    expect(fs.readdirSync(validatorCache).sort()).toEqual(['33912dbbde6e1d936140f1c82b283d01', 'README.md']);
  });
});
