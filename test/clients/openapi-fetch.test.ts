import createClient from 'openapi-fetch';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { components, paths } from '../../clients/typescript/switchboard-api.d.ts';
import { serverWithUpstream } from '../helpers/run-process.ts';

/**
 * The REST client generated from openapi.json (openapi-typescript types + openapi-fetch),
 * against a live server and a real upstream. `npm run typecheck` checks this file too, so a
 * route whose shape drifts from its generated types fails CI before any request is sent.
 */
type Connection = components['schemas']['Connection'];
type ApiError = components['schemas']['Error'];

const live = serverWithUpstream();

function switchboard(apiKey: string) {
  return createClient<paths>({ baseUrl: live.server.url, headers: { Authorization: `Bearer ${apiKey}` } });
}

describe('openapi-fetch client generated from openapi.json', () => {
  it('creates a namespace and a connection, lists, filters by metadata, lists and calls tools', async () => {
    const client = switchboard((await live.server.newAccount()).key);

    const created = await client.POST('/namespaces');
    expect(created.response.status).toBe(201);
    const namespace = created.data!.name;
    expectTypeOf(created.data).toEqualTypeOf<components['schemas']['Namespace'] | undefined>();

    const connection = await client.POST('/{namespace}', {
      params: { path: { namespace } },
      body: { mcpUrl: live.upstream.url, name: 'typed', metadata: { userId: 'alice' } },
    });
    expect(connection.response.status).toBe(201);
    expectTypeOf(connection.data).toEqualTypeOf<Connection | undefined>();
    const { connectionId } = connection.data!;
    expect(connection.data).toMatchObject({ mcpUrl: live.upstream.url, name: 'typed', status: { state: 'connected' } });
    // The status is a discriminated union: narrowing on state reaches that state's fields.
    const status = connection.data!.status;
    if (status.state === 'auth_required') expectTypeOf(status.authorizationUrl).toEqualTypeOf<string | undefined>();

    // openapi-fetch sends objects as deepObject (metadata[userId]=alice), as the document declares.
    const alice = await client.GET('/{namespace}', { params: { path: { namespace }, query: { metadata: { userId: 'alice' } } } });
    expect(alice.data?.connections.map((c) => c.connectionId)).toEqual([connectionId]);
    const bob = await client.GET('/{namespace}', { params: { path: { namespace }, query: { metadata: { userId: 'bob' } } } });
    expect(bob.data).toEqual({ connections: [], nextCursor: null });

    const tools = await client.GET('/{namespace}/{connectionId}/.tools', { params: { path: { namespace, connectionId } } });
    expect(tools.data?.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'add', 'github/create_issue']));

    const sum = await client.POST('/{namespace}/{connectionId}/.tools/{toolPath}', {
      params: { path: { namespace, connectionId, toolPath: 'add' } },
      body: { a: 40, b: 2 },
    });
    expect(sum.data).toEqual({ content: [{ type: 'text', text: '42' }] });
    // The path parameter is percent-encoded (github%2Fcreate_issue), which the server accepts.
    const issue = await client.POST('/{namespace}/{connectionId}/.tools/{toolPath}', {
      params: { path: { namespace, connectionId, toolPath: 'github/create_issue' } },
      body: { title: 'typed' },
    });
    expect(issue.data).toEqual({ content: [{ type: 'text', text: 'created typed' }] });

    const deleted = await client.DELETE('/{namespace}/{connectionId}', { params: { path: { namespace, connectionId } } });
    expect(deleted.data).toEqual({ success: true });
  });

  it('returns the typed {error, message} body on 404, 400 and 401', async () => {
    const client = switchboard((await live.server.newAccount()).key);
    const { data: namespace } = await client.PUT('/namespaces/{name}', { params: { path: { name: 'typed-errors' } } });
    expect(namespace?.name).toBe('typed-errors');

    const missing = await client.GET('/{namespace}/{connectionId}', { params: { path: { namespace: 'typed-errors', connectionId: 'nope' } } });
    expect(missing.response.status).toBe(404);
    expect(missing.data).toBeUndefined();
    expect(missing.error).toEqual({ error: 'not_found', message: expect.any(String) });
    expectTypeOf(missing.error).toEqualTypeOf<ApiError | undefined>();

    const invalid = await client.POST('/{namespace}', { params: { path: { namespace: 'typed-errors' } }, body: { mcpUrl: 'not a url' } });
    expect(invalid.response.status).toBe(400);
    expect(invalid.error?.error).toBe('validation_error');

    const anonymous = await switchboard('sk_not_a_real_key').GET('/namespaces');
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.error?.error).toBe('unauthorized');

    // The types refuse calls the API would refuse (checked by tsc; never sent).
    const refusedByTypes = () => [
      // @ts-expect-error path.namespace is required
      client.GET('/{namespace}', { params: { path: {} } }),
      // @ts-expect-error mcpUrl is required
      client.POST('/{namespace}', { params: { path: { namespace: 'typed-errors' } }, body: { name: 'no url' } }),
      // @ts-expect-error there is no PATCH on a connection
      client.PATCH('/{namespace}/{connectionId}', { params: { path: { namespace: 'typed-errors', connectionId: 'x' } } }),
    ];
    expect(typeof refusedByTypes).toBe('function');
  });
});
