import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeFeed } from '../../src/core/changes/change-feed.ts';
import { createConnectionStore } from '../../src/core/connections/connection-store.ts';
import { createKeyring } from '../../src/core/crypto/keyring.ts';
import { createNamespaceDirectory, type NamespaceDirectory } from '../../src/core/namespaces/namespace-directory.ts';
import { canary } from '../helpers/canary.ts';
import { requestAs, startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * The request path's caches (namespace owners, connections with their credentials) as a process
 * that heard none of the notifications sees them: account A's namespace is deleted and its name
 * taken, with a connection of the same id, by account B. Whatever those caches hold, B's lookups
 * must never yield A's connection, nor A's B's. Runs on PGlite and PostgreSQL.
 */
describe('cached namespaces and connections after a delete and recreate nobody announced', () => {
  let server: TestServer;
  let upstream: Upstream;
  const secret = randomBytes(32).toString('base64url');
  const silentFeed: ChangeFeed = { announce: async () => {}, subscribe: () => {}, close: async () => {} };
  const aliceKey = canary('alice-upstream-key');
  const bobKey = canary('bob-upstream-key');
  let alice: { key: string; accountId: string };
  let bob: { key: string; accountId: string };

  beforeAll(async () => {
    upstream = await startFixtureUpstream('sessions');
    server = await startTestServer({ SWITCHBOARD_SECRET: secret });
    [alice, bob] = [await server.newAccount('alice'), await server.newAccount('bob')];
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.stop();
  });

  const call = (bearer: string, pathname: string, method: string, body?: unknown) => requestAs(server, bearer, pathname, method, body);

  /** A process's caches over the server's database, deaf to every change. */
  function deafProcess() {
    const namespaces = createNamespaceDirectory(server.db, silentFeed);
    const connections = createConnectionStore(server.db, createKeyring([secret]), silentFeed, namespaces);
    return { namespaces, connections };
  }

  async function recreateAsBob(name: string): Promise<void> {
    expect((await call(alice.key, `/namespaces/${name}`, 'DELETE')).status).toBe(200);
    expect((await call(bob.key, `/namespaces/${name}`, 'PUT')).status).toBe(201);
    expect((await call(bob.key, `/${name}/c`, 'PUT', { mcpUrl: `${upstream.url}?tenant=bob`, headers: { 'x-api-key': bobKey } })).status).toBe(201);
  }

  async function refused(namespaces: NamespaceDirectory, owner: { accountId: string }, name: string): Promise<boolean> {
    return namespaces.requireOwned(owner, name).then(() => false, () => true);
  }

  it('never hands B the connection cached for A, nor A the one B created', async () => {
    const name = 'recycled-name';
    expect((await call(alice.key, `/namespaces/${name}`, 'PUT')).status).toBe(201);
    expect((await call(alice.key, `/${name}/c`, 'PUT', { mcpUrl: `${upstream.url}?tenant=alice`, headers: { 'x-api-key': aliceKey } })).status).toBe(201);

    const deaf = deafProcess();
    const alicesNamespace = await deaf.namespaces.requireOwned(alice, name);
    const alicesConnection = await deaf.connections.get(alicesNamespace, 'c');
    expect(alicesConnection?.credentials['x-api-key']).toBe(aliceKey);

    await recreateAsBob(name);

    // The deaf process still believes A owns the name: B is refused, A sees only A's own connection.
    expect(await refused(deaf.namespaces, bob, name)).toBe(true);
    expect((await deaf.connections.get(alicesNamespace, 'c'))?.incarnation).toBe(alicesConnection!.incarnation);

    // Its owner entry expires first (or is read by another deaf process): B passes, and gets B's connection.
    const bobsNamespace = await deafProcess().namespaces.requireOwned(bob, name);
    expect(bobsNamespace.incarnation).not.toBe(alicesNamespace.incarnation);
    const bobsConnection = await deaf.connections.get(bobsNamespace, 'c');
    expect(bobsConnection?.mcpUrl).toBe(`${upstream.url}?tenant=bob`);
    expect(bobsConnection?.credentials['x-api-key']).toBe(bobKey);
    expect(bobsConnection?.incarnation).not.toBe(alicesConnection!.incarnation);
    expect(bobsConnection?.revision).toBe(alicesConnection!.revision);
    // A session opened for A's connection asks for its latest tokens: never B's.
    expect(await deaf.connections.latest(alicesConnection!)).toBeUndefined();
  });

  it('answers A as if the connection did not exist once its entry holds B’s, and then forgets A owned the name', async () => {
    const name = 'recycled-again';
    expect((await call(alice.key, `/namespaces/${name}`, 'PUT')).status).toBe(201);
    expect((await call(alice.key, `/${name}/c`, 'PUT', { mcpUrl: `${upstream.url}?tenant=alice`, headers: { 'x-api-key': aliceKey } })).status).toBe(201);
    const deaf = deafProcess();
    const alicesNamespace = await deaf.namespaces.requireOwned(alice, name);

    await recreateAsBob(name);

    // The connection is read now, from the database: B's, under the namespace A's stale entry does not name.
    expect(await deaf.connections.get(alicesNamespace, 'c')).toBeUndefined();
    // That was evidence enough: the owner entry went, and the name is read anew.
    expect(await refused(deaf.namespaces, alice, name)).toBe(true);
    const bobsNamespace = await deaf.namespaces.requireOwned(bob, name);
    expect((await deaf.connections.get(bobsNamespace, 'c'))?.credentials['x-api-key']).toBe(bobKey);
  });
});
