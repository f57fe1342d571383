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

  it('a field no client declares is still refused as unknown', async () => {
    const error = await failure(client.connections.create(ns, { mcpUrl: upstream.url, colour: 'blue' } as never));
    expect(error).toBeInstanceOf(Smithery068.BadRequestError);
    expect((error as Error).message).toMatch(/Unrecognized key: "colour"/);
  });
});
