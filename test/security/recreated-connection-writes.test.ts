import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertConnection } from '../../src/core/connections/connections.ts';
import { createKeyring } from '../../src/core/crypto/keyring.ts';
import { completeAuthorization } from '../../src/core/oauth/authorization-flow.ts';
import { createBrowserCookies } from '../../src/core/oauth/browser-binding.ts';
import { openOAuthState } from '../../src/core/oauth/oauth-state.ts';
import { AppError } from '../../src/errors.ts';
import { openInterstitial, submitInterstitial } from '../helpers/authorization-link.ts';
import { accountAccess, deafReplica, silentFeed } from '../helpers/deaf-replica.ts';
import { completeLoginWithFetch, startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { requestAs, startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * A connection deleted (with its namespace) and created again under the same ns/id starts
 * again at revision 1. What was started for the first one and finishes late, after a round
 * trip to a server the first owner may control (the code exchange at its authorization
 * server, the first probe of its upstream), must not write to the second: no tokens, no
 * challenge, no status. Runs on PGlite and PostgreSQL.
 */
describe('late writes for a connection that was deleted and created again meanwhile', () => {
  let server: TestServer;
  let oauthUpstream: OAuthUpstream;
  let plain: Upstream;
  const secret = randomBytes(32).toString('base64url');
  let alice: { key: string; keyId: string; accountId: string };
  let bob: { key: string; keyId: string; accountId: string };

  beforeAll(async () => {
    [oauthUpstream, plain, server] = await Promise.all([startOAuthUpstream(), startFixtureUpstream('sessions'), startTestServer({ SWITCHBOARD_SECRET: secret })]);
    [alice, bob] = [await server.newAccount('alice'), await server.newAccount('bob')];
  });
  afterAll(async () => {
    await server?.close();
    await oauthUpstream?.stop();
    await plain?.stop();
  });

  const call = (bearer: string, pathname: string, method: string, body?: unknown) => requestAs(server, bearer, pathname, method, body);

  /** The namespace goes, and `owner` takes the name and the connection id again (a new incarnation). */
  async function recreate(name: string, id: string, owner: { key: string }, mcpUrl: string): Promise<void> {
    expect((await call(alice.key, `/namespaces/${name}`, 'DELETE')).status).toBe(200);
    expect((await call(owner.key, `/namespaces/${name}`, 'PUT')).status).toBe(201);
    expect((await call(owner.key, `/${name}/${id}`, 'PUT', { mcpUrl })).status).toBe(201);
  }

  const rowOf = (name: string, id: string) =>
    server.db
      .selectFrom('connections')
      .select(['revision', 'incarnation', 'status', 'oauth', 'oauth_challenge'])
      .where('namespace', '=', name)
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  it('stores no tokens from a code exchange that ended after the connection was recreated', async () => {
    const name = 'late-exchange';
    expect((await call(alice.key, `/namespaces/${name}`, 'PUT')).status).toBe(201);
    const created = await call(alice.key, `/${name}/c`, 'PUT', { mcpUrl: oauthUpstream.mcpUrl });
    const link = ((await created.json()) as { status: { authorizationUrl: string } }).status.authorizationUrl;

    // The end user continues the link and signs in; the answer is on its way back.
    const page = await openInterstitial(link);
    const continued = await submitInterstitial(link, page);
    expect(continued.status).toBe(303);
    const callback = await completeLoginWithFetch(continued.headers.get('location')!);
    // The callback, as the server runs it, but the code exchange stalls at the authorization
    // server while the namespace is deleted and the same ns/id created again (revision 1 again).
    const keyring = createKeyring([secret]);
    // The cookie carries the browser's secret signed by the server; the callback opens it first.
    const browserSecret = createBrowserCookies(keyring).open(page.cookie!.slice(page.cookie!.indexOf('=') + 1));
    expect(browserSecret).toBeDefined();
    const { egress, links } = deafReplica(server, secret, { probe: async () => ({ status: { state: 'connected' } }) });
    let recreated = false;
    let reprobes = 0;
    const stallingEgress = {
      fetch: (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        if (!recreated && url.origin === new URL(oauthUpstream.issuer).origin && url.pathname.endsWith('/token')) {
          recreated = true;
          await recreate(name, 'c', alice, oauthUpstream.mcpUrl);
        }
        return egress.fetch(input, init);
      }) as typeof fetch,
    };
    const before = await rowOf(name, 'c');
    const outcome = await completeAuthorization(
      {
        db: server.db,
        keyring,
        changes: silentFeed,
        links,
        config: { publicUrl: callback.origin, oauthReturnOrigins: [], upstreamTimeoutMs: 60_000 },
        egress: stallingEgress,
        reprobe: async () => void (reprobes += 1),
      },
      callback.searchParams,
      browserSecret,
    ).then(
      (value) => ({ kind: value.kind }),
      (error: unknown) => ({ error: error instanceof AppError ? error.code : String(error) }),
    );
    expect(recreated).toBe(true);
    expect(outcome).toEqual({ error: 'validation_error' });
    expect(reprobes).toBe(0);

    const after = await rowOf(name, 'c');
    expect(after.incarnation).not.toBe(before.incarnation);
    expect(after.revision).toBe(before.revision);
    expect(openOAuthState(keyring, { namespace: name, id: 'c' }, after.oauth).tokens).toBeUndefined();
    expect((after.status as { state: string }).state).toBe('auth_required');
  });

  it('records nothing from a first probe that ended after the connection was recreated by another account', async () => {
    const name = 'late-probe';
    expect((await call(alice.key, `/namespaces/${name}`, 'PUT')).status).toBe(201);
    let probed = 0;
    const replica = deafReplica(server, secret, {
      // A's upstream holds the first probe until B has the name and the id, then asks for
      // authorization at a metadata URL of A's choosing.
      async probe(connection) {
        probed += 1;
        await recreate(name, connection.id, bob, plain.url);
        return { status: { state: 'auth_required' }, challenge: { resourceMetadataUrl: 'http://127.0.0.1:9/.well-known/oauth-protected-resource' } };
      },
    });
    const attempt = await upsertConnection(replica, accountAccess(alice), { namespace: name, id: 'c' }, { mcpUrl: `${plain.url}?tenant=alice` }).then(
      () => 'done',
      (error: unknown) => (error instanceof AppError ? error.code : String(error)),
    );
    expect(probed).toBe(1);
    // A learns nothing about B's connection either.
    expect(attempt).toBe('not_found');

    const bobs = await rowOf(name, 'c');
    expect(bobs.revision).toBe(1);
    expect(bobs.oauth_challenge).toBeNull();
    expect((bobs.status as { state: string }).state).toBe('connected');
    const seen = (await (await call(bob.key, `/${name}/c`, 'GET')).json()) as { mcpUrl: string; status: { state: string } };
    expect(seen).toMatchObject({ mcpUrl: plain.url, status: { state: 'connected' } });
  });
});
