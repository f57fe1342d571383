import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { sealCredentials, openCredentials } from '../../src/core/connections/credentials.ts';
import { createKeyring } from '../../src/core/crypto/keyring.ts';
import { rotateSealedValues, sealedFields } from '../../src/core/crypto/rotation.ts';
import { CONTEXT as OAUTH_CLIENT_CONTEXT } from '../../src/core/oauth/oauth-clients.ts';
import { sealOAuthState } from '../../src/core/oauth/oauth-state.ts';
import { openWebhookSecret, sealWebhookSecret } from '../../src/core/webhooks/webhook-signing.ts';
import { migrateToLatest, openDb, type OpenDatabase } from '../../src/db/open.ts';
import { runCli, startServerProcess, type ServerProcess } from '../helpers/processes.ts';
import { canary } from '../helpers/canary.ts';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../helpers/database.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * Master-secret rotation: `switchboard keys rotate` re-seals every stored secret under the new
 * secret while servers holding both keep serving, never overwriting what a server wrote
 * meanwhile; afterwards the old secret opens nothing, the new one alone opens everything.
 */
const secretA = randomBytes(36).toString('base64url');
const secretB = randomBytes(36).toString('base64url');
const keyIdOf = (secret: string) => createKeyring([secret]).currentKeyId;

/** Every sealed value of the database, by field: what a rotation must have rewritten. */
async function sealedValuesIn(db: OpenDatabase['db']): Promise<{ field: string; value: string }[]> {
  const found: { field: string; value: string }[] = [];
  for (const field of sealedFields) {
    const { rows } = await sql<{ value: string }>`select ${sql.ref(field.column)} as value from ${sql.table(field.table)} where ${sql.ref(field.column)} is not null`.execute(db);
    for (const row of rows) found.push({ field: `${field.table}.${field.column}`, value: row.value });
  }
  return found;
}

describe('rotateSealedValues (compare-and-set against a concurrent writer)', () => {
  let database: TestDatabase;
  let opened: OpenDatabase;
  const refs = Array.from({ length: 5 }, (_, i) => ({ namespace: 'rotating', id: `conn${i}` }));

  beforeAll(async () => {
    database = await createTestDatabase();
    opened = await openDb(database.target);
    await migrateToLatest(opened.db);
    const old = createKeyring([secretA]);
    await opened.db.insertInto('accounts').values({ id: 'acc_rotation', name: 'rotation' }).execute();
    await opened.db.insertInto('namespaces').values({ name: 'rotating', account_id: 'acc_rotation' }).execute();
    for (const ref of refs) {
      const credentials = sealCredentials(old, ref, { 'x-api-key': canary('rotated-credential') })!;
      await opened.db
        .insertInto('connections')
        .values({ ...ref, name: ref.id, mcp_url: 'http://127.0.0.1:9/mcp', metadata: null, credentials: credentials.sealed, credentials_key_id: credentials.keyId })
        .execute();
    }
    await opened.db
      .updateTable('connections')
      .set({ oauth: sealOAuthState(old, refs[0]!, { tokens: { accessToken: canary('access'), tokenType: 'Bearer', refreshToken: canary('refresh') } }) })
      .where('id', '=', refs[0]!.id)
      .execute();
    await opened.db
      .insertInto('oauth_clients')
      .values({ id: 'oac_rotation', account_id: null, issuer: 'http://127.0.0.1:9', kind: 'configured', client_id: 'c', client: old.seal(JSON.stringify({ client_secret: canary('client-secret') }), OAUTH_CLIENT_CONTEXT) })
      .execute();
    await opened.db
      .insertInto('webhooks')
      .values({ id: 'wh_rotationrotatio', namespace: 'rotating', url: 'http://127.0.0.1:9/hook', events: null, description: null, secret: sealWebhookSecret(old, 'wh_rotationrotatio', 'whsec_cm90YXRlZC13ZWJob29rLXNlY3JldA==') })
      .execute();
  });
  afterAll(async () => {
    await opened?.close();
    await database?.drop();
  });

  it('re-seals everything but the row a server rewrote between read and write, and leaves unknown keys alone', async () => {
    const rotating = createKeyring([secretB, secretA]);
    const raced = refs[1]!;
    // A value sealed with a secret nobody holds any more: counted, never touched.
    const lost = sealCredentials(createKeyring([randomBytes(36).toString('base64url')]), refs[4]!, { 'x-api-key': 'lost' })!;
    await opened.db.updateTable('connections').set({ credentials: lost.sealed }).where('id', '=', refs[4]!.id).execute();

    let raceDone = false;
    const counts = await rotateSealedValues(opened.db, rotating, {
      batchSize: 2,
      async afterRead(field, batch) {
        if (field.column !== 'credentials' || raceDone) return;
        raceDone = true;
        expect(batch.map((v) => v.key[1])).toContain(raced.id);
        // A running server (new secret current) updates these credentials meanwhile.
        const fresh = sealCredentials(rotating, raced, { 'x-api-key': 'written-meanwhile' })!;
        await opened.db.updateTable('connections').set({ credentials: fresh.sealed, credentials_key_id: fresh.keyId }).where('id', '=', raced.id).execute();
      },
    });
    const byField = Object.fromEntries(counts.map((c) => [`${c.table}.${c.column}`, c]));
    expect(byField['connections.credentials']).toMatchObject({ resealed: 3, changedConcurrently: 1, unreadable: 1, alreadyCurrent: 0 });
    expect(byField['connections.oauth']).toMatchObject({ resealed: 1, unreadable: 0 });
    expect(byField['oauth_clients.client']).toMatchObject({ resealed: 1, unreadable: 0 });
    expect(byField['webhooks.secret']).toMatchObject({ resealed: 1, unreadable: 0 });
    const webhook = await opened.db.selectFrom('webhooks').select('secret').executeTakeFirstOrThrow();
    expect(openWebhookSecret(createKeyring([secretB]), 'wh_rotationrotatio', webhook.secret)).toBe('whsec_cm90YXRlZC13ZWJob29rLXNlY3JldA==');

    const onlyB = createKeyring([secretB]);
    const rows = await opened.db.selectFrom('connections').select(['namespace', 'id', 'credentials', 'credentials_key_id']).orderBy('id').execute();
    // The concurrent write survived the rotation.
    expect(openCredentials(onlyB, raced, rows[1]!.credentials)).toEqual({ 'x-api-key': 'written-meanwhile' });
    for (const row of rows.slice(0, 4)) {
      expect(row.credentials_key_id).toBe(onlyB.currentKeyId);
      expect(openCredentials(onlyB, row, row.credentials)['x-api-key']).toBeDefined();
    }
    expect(rows[4]!.credentials).toBe(lost.sealed);

    // Idempotent: nothing left to do but the value no key opens.
    const again = await rotateSealedValues(opened.db, rotating, { batchSize: 2 });
    expect(again.reduce((sum, c) => sum + c.resealed + c.changedConcurrently, 0)).toBe(0);
    expect(again.find((c) => c.column === 'credentials')).toMatchObject({ alreadyCurrent: 4, unreadable: 1 });
  });
});

// Processes (CLI runs through tsx, servers from dist/) start slowly on a busy 2-core machine.
describe('switchboard keys rotate, with servers running', { timeout: 300_000 }, () => {
  let database: TestDatabase;
  let upstream: Upstream;
  let dataDir: string;
  let base: Record<string, string>;
  const upstreamKey = canary('upstream-key');
  const clientSecret = canary('client-secret');
  const servers: ServerProcess[] = [];
  let apiKey: string;
  /** A service token signed under the old secret. */
  let oldToken: string;
  let ns: string;
  let webhookSecret: string;
  const connectionIds: string[] = [];

  const envWith = (current: string, previous?: string) => ({
    ...base,
    SWITCHBOARD_SECRET: current,
    ...(previous ? { SWITCHBOARD_PREVIOUS_SECRETS: previous } : {}),
  });
  async function start(env: Record<string, string>): Promise<ServerProcess> {
    const server = await startServerProcess(env);
    servers.push(server);
    return server;
  }
  const api = (server: ServerProcess, pathname: string, init: { method?: string; body?: unknown; bearer?: string } = {}) =>
    fetch(`${server.url}${pathname}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.bearer ?? apiKey}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  /** A tool call through Switchboard: the upstream answers only with the stored credential. */
  async function echo(server: ServerProcess, id: string, message = 'hi'): Promise<{ status: number; text: string }> {
    const response = await api(server, `/${ns}/${id}/.tools/echo`, { method: 'POST', body: { message } });
    return { status: response.status, text: await response.text() };
  }

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-rotate-'));
    [database, upstream] = await Promise.all([createTestDatabase(), startFixtureUpstream('sessions', { requireApiKey: upstreamKey })]);
    base = { DATA_DIR: dataDir, ...(database.url ? { DATABASE_URL: database.url } : {}) };
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    await upstream?.stop();
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts with everything sealed under the old secret', async () => {
    const created = await runCli(['api-keys', 'create', '--name', 'rotation', '--json'], envWith(secretA));
    expect(created.code, created.stderr).toBe(0);
    apiKey = (JSON.parse(created.stdout) as { key: string }).key;
    const client = await runCli(['oauth-clients', 'add', '--issuer', 'http://127.0.0.1:9/issuer', '--client-id', 'rotating', '--client-secret', clientSecret], envWith(secretA));
    expect(client.code, client.stderr).toBe(0);

    const old = await start(envWith(secretA));
    ns = ((await (await api(old, '/namespaces', { method: 'POST' })).json()) as { name: string }).name;
    for (let i = 0; i < 4; i++) {
      const response = await api(old, `/${ns}`, { method: 'POST', body: { mcpUrl: upstream.url, headers: { 'x-api-key': upstreamKey } } });
      const body = (await response.json()) as { connectionId: string; status: { state: string } };
      expect(response.status).toBe(201);
      expect(body.status.state).toBe('connected');
      connectionIds.push(body.connectionId);
    }
    expect((await echo(old, connectionIds[0]!)).status).toBe(200);
    oldToken = ((await (await api(old, '/tokens', { method: 'POST', body: {} })).json()) as { token: string }).token;
    const webhook = await api(old, `/namespaces/${ns}/webhooks`, { method: 'POST', body: { url: 'http://127.0.0.1:9/hook' } });
    expect(webhook.status).toBe(201);
    webhookSecret = ((await webhook.json()) as { webhookId: string; secret: string }).secret;
    await old.stop();
  });

  it('keeps serving with new=B previous=A while the rotation runs, then every value is under B', async () => {
    const both = envWith(secretB, secretA);
    let server = await start(both);
    for (const id of connectionIds) expect(await echo(server, id)).toMatchObject({ status: 200 });
    // Tokens name their key: one signed under the old secret verifies while it is still listed.
    expect((await api(server, '/namespaces', { bearer: oldToken })).status).toBe(200);

    let rotation;
    const failures: string[] = [];
    let calls = 0;
    if (testDatabaseKind === 'postgres') {
      // Traffic on every connection, and credential writes, for as long as the CLI runs.
      let running = true;
      const traffic = (async () => {
        for (let round = 0; running || round < 2; round++) {
          await Promise.all(
            connectionIds.map(async (id, i) => {
              const answer =
                i === 0 && round % 2 === 1
                  ? await api(server, `/${ns}/${id}`, { method: 'PUT', body: { mcpUrl: upstream.url, headers: { 'x-api-key': upstreamKey } } }).then(async (r) => ({ status: r.status, text: await r.text() }))
                  : await echo(server, id, `round ${round}`);
              calls++;
              if (answer.status !== 200) failures.push(`${id}: ${answer.status} ${answer.text.slice(0, 200)}`);
            }),
          );
        }
      })();
      rotation = await runCli(['keys', 'rotate', '--batch-size', '1', '--json'], both);
      running = false;
      await traffic;
    } else {
      // The embedded database belongs to one process: rotate between two runs of the service.
      await server.stop();
      rotation = await runCli(['keys', 'rotate', '--batch-size', '1', '--json'], both);
    }
    expect(rotation.code, rotation.stderr).toBe(0);
    const report = JSON.parse(rotation.stdout) as { keyId: string; tables: { table: string; column: string; resealed: number; changedConcurrently: number; unreadable: number }[] };
    expect(report.keyId).toBe(keyIdOf(secretB));
    const credentials = report.tables.find((t) => t.column === 'credentials')!;
    expect(credentials.resealed + credentials.changedConcurrently).toBeGreaterThanOrEqual(connectionIds.length - 1);
    expect(report.tables.find((t) => t.column === 'client')).toMatchObject({ resealed: 1, unreadable: 0 });
    expect(report.tables.find((t) => t.table === 'webhooks')).toMatchObject({ resealed: 1, unreadable: 0 });
    expect(report.tables.every((t) => t.unreadable === 0)).toBe(true);
    console.log(`keys rotate on ${testDatabaseKind}: ${calls} requests in flight during the rotation, ${failures.length} failed; ${report.tables.map((t) => `${t.table}.${t.column} ${t.resealed} re-sealed, ${t.changedConcurrently} rewritten meanwhile`).join('; ')}`);
    expect(failures).toEqual([]);
    if (testDatabaseKind === 'postgres') {
      expect(calls).toBeGreaterThan(connectionIds.length);
      for (const id of connectionIds) expect(await echo(server, id)).toMatchObject({ status: 200 });
      await server.stop();
    }

    const opened = await openDb(loadConfig(both).database);
    try {
      const values = await sealedValuesIn(opened.db);
      expect(values.length).toBeGreaterThanOrEqual(connectionIds.length + 1);
      for (const { field, value } of values) expect(`${field} ${value.split('.').slice(0, 2).join('.')}`).toBe(`${field} sb1.${keyIdOf(secretB)}`);
      const keyIds = await opened.db.selectFrom('connections').select('credentials_key_id').execute();
      expect(new Set(keyIds.map((r) => r.credentials_key_id))).toEqual(new Set([keyIdOf(secretB)]));
      // The client secret opens with the new secret alone, and no longer with the old one.
      const client = await opened.db.selectFrom('oauth_clients').select('client').executeTakeFirstOrThrow();
      const openedWithB = createKeyring([secretB]).open(client.client, OAUTH_CLIENT_CONTEXT);
      expect(openedWithB.ok && openedWithB.plaintext).toContain(clientSecret);
      expect(createKeyring([secretA]).open(client.client, OAUTH_CLIENT_CONTEXT)).toEqual({ ok: false, reason: 'unknown_key' });
      const webhook = await opened.db.selectFrom('webhooks').select(['id', 'secret']).executeTakeFirstOrThrow();
      expect(openWebhookSecret(createKeyring([secretB]), webhook.id, webhook.secret)).toBe(webhookSecret);
      expect(() => openWebhookSecret(createKeyring([secretA]), webhook.id, webhook.secret)).toThrow(/SWITCHBOARD_PREVIOUS_SECRETS/);
    } finally {
      await opened.close();
    }
  });

  it('works with the new secret alone; the old one alone opens nothing', async () => {
    const onlyB = await start(envWith(secretB));
    for (const id of connectionIds) expect(await echo(onlyB, id)).toMatchObject({ status: 200 });
    // Signatures are not re-made: a token of the old secret ends with it (hence: wait out 24 h).
    expect((await api(onlyB, '/namespaces', { bearer: oldToken })).status).toBe(401);
    await onlyB.stop();

    const onlyA = await start(envWith(secretA));
    const refused = await echo(onlyA, connectionIds[1]!);
    expect(refused.status).toBe(500);
    expect(JSON.parse(refused.text)).toEqual({ error: 'internal_error', message: expect.stringContaining('SWITCHBOARD_PREVIOUS_SECRETS') });
    expect(refused.text).not.toContain(upstreamKey);
    await onlyA.stop();
  });

  it('changes nothing when run again', async () => {
    const again = await runCli(['keys', 'rotate'], envWith(secretB, secretA));
    expect(again.code, again.stderr).toBe(0);
    // A table under a header: value, re-sealed, already current, rewritten meanwhile, unreadable.
    const lines = again.stdout.trimEnd().split('\n');
    expect(lines[1]).toMatch(/^VALUE +RE-SEALED +ALREADY CURRENT +REWRITTEN MEANWHILE +UNREADABLE$/);
    expect(again.stdout).toMatch(/^connections\.credentials +0 +4 +0 +0$/m);
    expect(again.stdout).toMatch(/^oauth_clients\.client +0 +1 +0 +0$/m);
    expect(again.stdout).toMatch(/^webhooks\.secret +0 +1 +0 +0$/m);
    expect(lines.slice(2).every((line) => / 0 +\d+ +0 +0$/.test(line))).toBe(true);
  });
});
