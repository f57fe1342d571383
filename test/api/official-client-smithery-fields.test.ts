import Smithery050 from 'smithery-api-050';
import Smithery068 from 'smithery-api-068';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * Fields the official client declares for Smithery features Switchboard does not serve: each
 * is refused with a message naming the feature, through the client's own create and set, so
 * an app learns what is missing instead of reading "Unrecognized key". A field that no
 * client declares is still refused as unknown.
 */
let server: TestServer;
let upstream: Upstream;
let client: Smithery068;
const ns = 'fields068';

beforeAll(async () => {
  [server, upstream] = await Promise.all([startTestServer(), startFixtureUpstream('sessions')]);
  const { key } = await server.newAccount();
  client = new Smithery068({ apiKey: key, baseURL: server.url, connectBaseURL: server.url, maxRetries: 0 });
  await client.namespaces.set(ns);
});
afterAll(async () => {
  try {
    await server?.close();
  } finally {
    await upstream?.stop();
  }
});

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

type CreateParams = Smithery068.Connections.ConnectionCreateParams;

const unsupported: [string, Pick<CreateParams, 'mock' | 'source'>, RegExp][] = [
  ['mock', { mock: { enabled: true, scenario: 'an empty inbox' } }, /mock connections .* are not supported by Switchboard/],
  [
    'source',
    { source: { kind: 'module', entrypoint: 'index.ts', sourceFiles: [{ path: 'index.ts', contents: 'export {}' }] } },
    /connections hosted from source files are not supported by Switchboard/,
  ],
];

describe('@smithery/api 0.68.0 fields for features Switchboard does not serve', () => {
  it.each(unsupported)('connections.create with %s is a BadRequestError naming the feature', async (_field, extra, message) => {
    const error = await failure(client.connections.create(ns, { mcpUrl: upstream.url, ...extra }));
    expect(error).toBeInstanceOf(Smithery068.BadRequestError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toMatch(/Unrecognized/);
    expect((await client.connections.list(ns)).connections).toEqual([]);
  });

  it.each(unsupported)('connections.set with %s is a BadRequestError naming the feature', async (_field, extra, message) => {
    const error = await failure(client.connections.set('with-extra', { namespace: ns, mcpUrl: upstream.url, ...extra }));
    expect(error).toBeInstanceOf(Smithery068.BadRequestError);
    expect((error as Error).message).toMatch(message);
    expect(await failure(client.connections.get('with-extra', { namespace: ns }))).toBeInstanceOf(Smithery068.NotFoundError);
  });

  it('connections.create naming a registry server is a BadRequestError naming the feature', async () => {
    const error = await failure(client.connections.create(ns, { server: 'exa' }));
    expect(error).toBeInstanceOf(Smithery068.BadRequestError);
    expect((error as Error).message).toMatch(/registry servers .* are not supported by Switchboard/);
    expect((error as Error).message).not.toMatch(/Unrecognized/);
  });

  it('a field no client declares is still refused as unknown', async () => {
    const error = await failure(client.connections.create(ns, { mcpUrl: upstream.url, colour: 'blue' } as never));
    expect(error).toBeInstanceOf(Smithery068.BadRequestError);
    expect((error as Error).message).toMatch(/Unrecognized key: "colour"/);
  });
});

describe('@smithery/api 0.50.0 unstableCallbackUrl', () => {
  const ns050 = 'fields050';
  let client050: Smithery050;

  beforeAll(async () => {
    const { key } = await server.newAccount();
    client050 = new Smithery050({ apiKey: key, baseURL: server.url, maxRetries: 0 });
    await client050.namespaces.set(ns050);
  });

  // A webhook for server-to-client messages in Smithery; accepted and ignored here, and
  // not checked against OAUTH_RETURN_ORIGINS (the test server allows none of it).
  const unstableCallbackUrl = 'https://hooks.example.com/mcp-messages';

  it('connections.create with it makes the connection', async () => {
    const created = await client050.connections.create(ns050, { mcpUrl: upstream.url, unstableCallbackUrl });
    expect(created.status).toEqual({ state: 'connected' });
    expect(JSON.stringify(created)).not.toContain('hooks.example.com');
  });

  it('connections.set with it creates, then updates, the connection', async () => {
    const created = await client050.connections.set('with-callback', { namespace: ns050, mcpUrl: upstream.url, unstableCallbackUrl });
    expect(created.connectionId).toBe('with-callback');
    const updated = await client050.connections.set('with-callback', { namespace: ns050, name: 'renamed', unstableCallbackUrl });
    expect(updated.name).toBe('renamed');
  });
});
