import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConnection,
  deleteConnection,
  getConnection,
  listConnections,
  upsertConnection,
} from '../../src/core/connections/connections.ts';
import { requestReauthorization } from '../../src/core/oauth/link-admission.ts';
import { startChangeFeed } from '../../src/core/changes/change-feed.ts';
import { createNamespaceDirectory } from '../../src/core/namespaces/namespace-directory.ts';
import { deleteNamespace } from '../../src/core/namespaces/namespaces.ts';
import type { Db } from '../../src/db/open.ts';
import { createWebhook, listWebhooks } from '../../src/core/webhooks/webhooks.ts';
import { AppError } from '../../src/errors.ts';
import { accountAccess, deafReplica } from '../helpers/deaf-replica.ts';
import { startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { requestAs, startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * A replica that heard no notification still believes account A owns a namespace name that A
 * deleted and B then created again. Its request-path cache may say so for minutes; the paths
 * that read or write the namespace's rows (connections, webhooks, links) must not believe it:
 * A is answered as if the namespace did not exist, and B's rows stay as they were.
 * Runs on PGlite and PostgreSQL.
 */
describe('the former owner of a recreated namespace name, on a replica that missed the deletion', () => {
  let server: TestServer;
  let oauthUpstream: OAuthUpstream;
  let attackerUpstream: Upstream;
  const secret = randomBytes(32).toString('base64url');
  let alice: { key: string; keyId: string; accountId: string };
  let bob: { key: string; keyId: string; accountId: string };
  let probes = 0;

  beforeAll(async () => {
    [oauthUpstream, attackerUpstream, server] = await Promise.all([startOAuthUpstream(), startFixtureUpstream('sessions'), startTestServer({ SWITCHBOARD_SECRET: secret })]);
    [alice, bob] = [await server.newAccount('alice'), await server.newAccount('bob')];
  });
  afterAll(async () => {
    await server?.close();
    await oauthUpstream?.stop();
    await attackerUpstream?.stop();
  });

  const call = (bearer: string, pathname: string, method: string, body?: unknown) => requestAs(server, bearer, pathname, method, body);

  /** How the attempt ended: the error code, or `done` when it went through. */
  async function outcomeOf(attempt: Promise<unknown>): Promise<string> {
    return attempt.then(
      () => 'done',
      (error: unknown) => (error instanceof AppError ? error.code : `thrown: ${String(error)}`),
    );
  }

  /** What B's namespace holds, as B sees it (and the database beneath). */
  async function bobsView(name: string) {
    const listed = (await (await call(bob.key, `/${name}`, 'GET')).json()) as { connections: { connectionId: string; status: Record<string, unknown> }[] };
    // Links are minted afresh at every read: what they point at is what matters, and the rows show it.
    const connections = listed.connections.map(({ status: { authorizationUrl: _a, setupUrl: _s, ...status }, ...rest }) => ({ ...rest, status }));
    const webhooks = (await (await call(bob.key, `/namespaces/${name}/webhooks`, 'GET')).json()) as { webhooks: unknown[] };
    const rows = await server.db.selectFrom('connections').select(['id', 'mcp_url', 'revision', 'incarnation', 'status', 'oauth_links_valid_after', 'updated_at']).where('namespace', '=', name).orderBy('id').execute();
    return { connections, webhooks: webhooks.webhooks, rows };
  }

  it('refuses A everything on B’s namespace as not found, and B’s rows stay as they were', async () => {
    const name = 'stale-owner';
    expect((await call(alice.key, `/namespaces/${name}`, 'PUT')).status).toBe(201);
    expect((await call(alice.key, `/${name}/c`, 'PUT', { mcpUrl: `${attackerUpstream.url}?tenant=alice` })).status).toBe(201);

    // The replica serves A once: it caches that A owns the name.
    // Nothing A asks may get as far as reaching out to an upstream.
    const replica = deafReplica(server, secret, { probe: async () => ((probes += 1), { status: { state: 'error', message: 'probed' } }) });
    const aliceAccess = accountAccess(alice);
    await replica.namespaces.requireOwned(alice, name);

    // A deletes the name; B takes it, with an OAuth connection waiting for authorization.
    expect((await call(alice.key, `/namespaces/${name}`, 'DELETE')).status).toBe(200);
    expect((await call(bob.key, `/namespaces/${name}`, 'PUT')).status).toBe(201);
    const created = await call(bob.key, `/${name}/c`, 'PUT', { mcpUrl: oauthUpstream.mcpUrl });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { status: { state: string } }).status.state).toBe('auth_required');
    const before = await bobsView(name);

    // The replica's cache still says A: the hot-path check passes, which is why the others must not rely on it.
    await expect(replica.namespaces.requireOwned(alice, name)).resolves.toMatchObject({ name });

    probes = 0;
    const attacker = `${attackerUpstream.url}?tenant=alice`;
    const ref = { namespace: name, id: 'c' };
    // In turn (deletion last), so that each is tried on B's namespace as it was.
    const attempts: [string, () => Promise<unknown>][] = [
      ['create a webhook', () => createWebhook(replica, aliceAccess, name, { url: 'http://127.0.0.1:9/stolen-events' })],
      ['list webhooks', () => listWebhooks(replica, aliceAccess, name)],
      ['list connections', () => listConnections(replica, aliceAccess, name, { limit: 50 })],
      ['get a connection', () => getConnection(replica, aliceAccess, ref)],
      ['mint a re-authorization link', () => requestReauthorization(replica, aliceAccess, ref)],
      ['update B’s connection', () => upsertConnection(replica, aliceAccess, ref, { mcpUrl: oauthUpstream.mcpUrl, name: 'renamed by A' })],
      ['upsert a connection', () => upsertConnection(replica, aliceAccess, { namespace: name, id: 'planted' }, { mcpUrl: attacker })],
      ['create a connection', () => createConnection(replica, aliceAccess, name, { mcpUrl: attacker })],
      ['delete B’s connection', () => deleteConnection(replica, aliceAccess, ref)],
    ];
    const outcomes: Record<string, string> = {};
    for (const [what, attempt] of attempts) outcomes[what] = await outcomeOf(attempt());
    expect(outcomes).toEqual(Object.fromEntries(attempts.map(([what]) => [what, 'not_found'])));
    expect(probes).toBe(0);

    expect(await bobsView(name)).toEqual(before);
    expect(before.connections.map((c) => c.connectionId)).toEqual(['c']);
    expect(before.webhooks).toEqual([]);

    // The stale entry went with the first refusal: the replica now answers B, and refuses A everywhere.
    expect(await outcomeOf(replica.namespaces.requireOwned(alice, name))).toBe('not_found');
    await expect(replica.namespaces.requireOwned(bob, name)).resolves.toMatchObject({ name });
  });

  it('forgets, in the deleting process, a namespace it deleted even when the notification cannot be sent', async () => {
    const name = 'notify-fails';
    expect((await call(alice.key, `/namespaces/${name}`, 'PUT')).status).toBe(201);
    // A process whose NOTIFY fails (its database went away after the commit, say).
    const unreachable = { getExecutor: () => { throw new Error('NOTIFY failed'); } } as unknown as Db;
    const changes = await startChangeFeed({ db: unreachable, listen: async () => async () => {} });
    const namespaces = createNamespaceDirectory(server.db, changes);
    await namespaces.requireOwned(alice, name);

    await expect(deleteNamespace(server.db, changes, alice, name)).rejects.toThrow('NOTIFY failed');
    expect(await outcomeOf(namespaces.requireOwned(alice, name))).toBe('not_found');
  });
});
