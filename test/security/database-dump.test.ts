import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring } from '../../src/core/crypto/keyring.ts';
import { configureOAuthClient } from '../../src/core/oauth/oauth-clients.ts';
import { canary, CANARY_PREFIX, watchedSecrets } from '../helpers/canary.ts';
import { completeLoginWithFetch, registerConfidentialClient, startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';
import { deliverCallback, startAuthorizationWithFetch } from '../helpers/authorization-link.ts';

/**
 * What an attacker holding a copy of the database learns: after a realistic life (credential
 * headers, query config, a completed OAuth flow with access and refresh tokens from the real
 * test authorization server through an operator-configured confidential client, service tokens,
 * API keys), the whole database as text holds none of the secrets in plaintext: API keys only as
 * their SHA-256, credentials, OAuth tokens and client secrets only sealed (`sb1.<key id>.…`).
 */
const masterSecret = randomBytes(36).toString('base64url');
const credential = canary('dump-credential');
/** Non-secret markers: proof the dump really covers the rows the secrets live in. */
const marker = `dump-marker-${randomBytes(6).toString('hex')}`;

let server: TestServer;
let oauthUpstream: OAuthUpstream;
let headerUpstream: Upstream;
const planted: { label: string; value: string }[] = [];
let apiKeys: string[];
let ns: string;

function json(method: string, pathname: string, bearer: string, body?: unknown) {
  return server.request(pathname, {
    method,
    bearer,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
}

beforeAll(async () => {
  [server, oauthUpstream, headerUpstream] = await Promise.all([
    startTestServer({ SWITCHBOARD_SECRET: masterSecret }),
    startOAuthUpstream({ accessTokenTtlSeconds: 60 }),
    startFixtureUpstream('sessions', { requireApiKey: credential }),
  ]);
  const owner = await server.newAccount('dump-owner');
  const other = await server.newAccount('dump-other');
  const second = await server.addKey(owner.accountId);
  apiKeys = [owner.key, other.key, second.key];
  ns = ((await (await json('POST', '/namespaces', owner.key)).json()) as { name: string }).name;

  // Credentials in headers, configuration in the query string (part of the URL, not a secret).
  const withHeaders = await json('POST', `/${ns}`, owner.key, {
    mcpUrl: `${headerUpstream.url}?region=${marker}`,
    name: marker,
    metadata: { userId: marker },
    headers: { 'x-api-key': credential },
  });
  expect(withHeaders.status).toBe(201);
  const headerConnection = (await withHeaders.json()) as { connectionId: string; status: { state: string } };
  expect(headerConnection.status.state).toBe('connected');
  expect((await json('POST', `/${ns}/${headerConnection.connectionId}/.tools/echo`, owner.key, { message: 'hi' })).status).toBe(200);

  // The operator's confidential client for the authorization server, as `switchboard oauth-clients add` stores it.
  const client = await registerConfidentialClient(oauthUpstream, `${server.url}/oauth/callback`);
  await configureOAuthClient(server.db, createKeyring([masterSecret]), null, {
    issuer: oauthUpstream.issuer,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    tokenEndpointAuthMethod: 'client_secret_basic',
  });
  planted.push({ label: 'client secret', value: client.clientSecret }, { label: 'credential header', value: credential });

  // A full authorization: link → login and consent → callback → code exchanged for tokens.
  const created = (await (await json('POST', `/${ns}`, owner.key, { mcpUrl: oauthUpstream.mcpUrl, metadata: { userId: marker } })).json()) as {
    connectionId: string;
    status: { authorizationUrl: string };
  };
  const callbackUrl = await completeLoginWithFetch(await startAuthorizationWithFetch(created.status.authorizationUrl), 'dump-user');
  const code = callbackUrl.searchParams.get('code')!;
  planted.push({ label: 'authorization code', value: code });
  const callback = await deliverCallback(callbackUrl);
  expect(callback.status, await callback.text()).toBe(200);
  const call = await json('POST', `/${ns}/${created.connectionId}/.tools/whoami`, owner.key, {});
  expect(call.status).toBe(200);
  expect(await call.text()).toContain('dump-user');
  const { as } = await oauthUpstream.stats();
  expect(as.authorizationCodeGrants).toBe(1);

  for (const bearer of [owner.key, other.key]) {
    const minted = (await (await json('POST', '/tokens', bearer, { policy: [{ namespaces: ns, ttl: '1h' }] })).json()) as { token: string };
    planted.push({ label: 'service token', value: minted.token }, { label: 'service token signature', value: minted.token.split('.').at(-1)! });
  }
  for (const key of apiKeys) planted.push({ label: 'API key', value: key }, { label: 'API key secret', value: key.split('_')[2]! });
  for (const token of await watchedSecrets()) planted.push({ label: 'OAuth access token', value: token });
});

afterAll(async () => {
  await oauthUpstream?.stop();
  await headerUpstream?.stop();
  await server?.close();
});

/** Every row of every table of the schema, as JSON text: the same view on PGlite and PostgreSQL. */
async function dumpAsJson(): Promise<string> {
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(server.db);
  const lines: string[] = [];
  for (const { name } of tables.rows) {
    const rows = await sql<{ row: string }>`select row_to_json(t)::text as row from ${sql.table(name)} t`.execute(server.db);
    for (const { row } of rows.rows) lines.push(`${name}\t${row}`);
  }
  return lines.join('\n');
}

function pgDump(): string {
  return execFileSync('pg_dump', ['--no-owner', '--data-only', server.databaseUrl!], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

const dumps: [string, () => Promise<string> | string][] = [
  ['every row of every table as JSON', dumpAsJson],
  ...(process.env.TEST_DATABASE_URL ? ([['pg_dump', pgDump]] as [string, () => string][]) : []),
];

describe.each(dumps)('a database dump (%s)', (_kind, dump) => {
  let text: string;
  beforeAll(async () => {
    text = await dump();
  });

  it('covers the rows the secrets live in', () => {
    expect(text).toContain(marker);
    expect(text).toContain(ns);
    // Sealed values are there, under the server's key.
    expect(text).toContain(`sb1.${createKeyring([masterSecret]).currentKeyId}.`);
    expect(planted.filter((p) => p.label === 'OAuth access token').length).toBeGreaterThanOrEqual(1);
  });

  it('holds no planted secret, token, key, code or client secret in plaintext', () => {
    expect(planted.length).toBeGreaterThanOrEqual(12);
    const found = planted.filter(({ value }) => text.includes(value)).map(({ label }) => label);
    expect(found).toEqual([]);
    // Codes, refresh tokens and client secrets of the test authorization server carry the prefix.
    expect(text).not.toContain(CANARY_PREFIX);
  });

  it('stores API keys as the SHA-256 of their secret: the hash is there, the key is not', () => {
    for (const key of apiKeys) {
      const hash = createHash('sha256').update(key.split('_')[2]!).digest('hex');
      expect(text).toContain(hash);
      expect(text).not.toContain(key.split('_')[2]!);
    }
  });
});
