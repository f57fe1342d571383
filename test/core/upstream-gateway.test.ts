import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Principal } from '../../src/core/auth/authenticate.ts';
import { createConnectionLinks } from '../../src/core/connections/connection-links.ts';
import { toConnectionRecord, type ConnectionRecord } from '../../src/core/connections/connection-store.ts';
import { createKeyring } from '../../src/core/crypto/keyring.ts';
import { createEgress } from '../../src/core/network/guarded-dispatcher.ts';
import { createOAuthTokenKeeper } from '../../src/core/oauth/oauth-tokens.ts';
import type { ClientSession } from '../../src/core/upstream/client-sessions.ts';
import { createUpstreamGateway, type ForwardOutcome, type UpstreamGateway } from '../../src/core/upstream/gateway.ts';
import { findConnectionWithCredentials } from '../../src/db/queries/connections.ts';
import { createLogger } from '../../src/logger.ts';
import { deliverCallback, startAuthorizationWithFetch } from '../helpers/authorization-link.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { silentFeed } from '../helpers/deaf-replica.ts';
import { completeLoginWithFetch, startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startSessionUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * The gateway as a service instance owns it (src/core/upstream/gateway.ts), several in one
 * process over the test server's database: what one gateway holds (HTTP pools, sessions) is its
 * own, and every path to an upstream attaches and refreshes the bearer through one policy.
 * Real upstreams in child processes, a real authorization server, the real OAuth token keeper.
 */
const secret = randomBytes(32).toString('base64url');
let server: TestServer;
let sessions: Upstream;
let oauthUpstream: OAuthUpstream;
let account: { key: string; keyId: string; accountId: string };
let principal: Principal;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  [server, sessions, oauthUpstream] = await Promise.all([
    startTestServer({ SWITCHBOARD_SECRET: secret }),
    startSessionUpstream(),
    // Long-lived access tokens: only a rejection, never the clock, makes this test refresh.
    startOAuthUpstream({ accessTokenTtlSeconds: 3600 }),
  ]);
  account = await server.newAccount();
  principal = { kind: 'account', accountId: account.accountId, apiKeyId: account.keyId };
  expect((await server.request('/namespaces/gateway-test', { method: 'PUT', bearer: account.key })).status).toBe(201);
});
afterAll(async () => {
  await Promise.all(opened.map((one) => one.close()));
  // The server's close looks for the access tokens the authorization server issued: it goes first.
  await server?.close();
  await Promise.all([sessions?.stop(), oauthUpstream?.stop()]);
});

/** A gateway as a second service instance in this process would make it, over the server's database. */
function gatewayOverServerDatabase(latest: (connection: ConnectionRecord) => Promise<ConnectionRecord | undefined>): UpstreamGateway {
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-gateway-')),
    SWITCHBOARD_SECRET: secret,
    ALLOWED_UPSTREAM_HOSTS: '127.0.0.1,localhost,::1',
  });
  const keyring = createKeyring([secret]);
  const logger = createLogger(config, { write: () => {} });
  const egress = createEgress(config.allowedUpstreamHosts);
  const oauth = createOAuthTokenKeeper({ db: server.db, keyring, changes: silentFeed, logger, config, egress, crossProcessLocks: testDatabaseKind === 'postgres' });
  const gateway = createUpstreamGateway({
    db: server.db,
    config,
    changes: silentFeed,
    keyring,
    egress,
    logger,
    oauth,
    links: createConnectionLinks(keyring, config),
    latest,
    sessionIdleMs: 60_000,
  });
  let closed = false;
  opened.push({
    async close() {
      if (closed) return;
      closed = true;
      await gateway.close();
      await egress.close();
    },
  });
  return gateway;
}

async function createConnection(mcpUrl: string): Promise<{ connectionId: string; status: { state: string; authorizationUrl?: string } }> {
  const created = await server.request('/gateway-test', {
    method: 'POST',
    bearer: account.key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mcpUrl }),
  });
  expect(created.status).toBe(201);
  return (await created.json()) as never;
}

/** The connection as stored now, optionally pointed at another upstream URL (its tokens stay its own). */
async function storedConnection(id: string, mcpUrl?: string): Promise<ConnectionRecord> {
  const row = await findConnectionWithCredentials(server.db, { namespace: 'gateway-test', id });
  expect(row).toBeDefined();
  const record = toConnectionRecord(row!, createKeyring([secret]));
  return mcpUrl ? { ...record, mcpUrl } : record;
}

async function openOwnSession(gateway: UpstreamGateway, connection: ConnectionRecord): Promise<ClientSession> {
  const own = await gateway.openClientSession(connection, principal, { capabilities: {}, protocolVersion: '2025-06-18' });
  if (!own.ok) throw new Error(`no client session: ${own.reason}`);
  return own.session;
}

function toolCall(id: number, name: string, args: Record<string, unknown>) {
  const params = { name, arguments: args };
  return { json: { jsonrpc: '2.0', id, method: 'tools/call', params }, call: { method: 'tools/call', params } };
}

/** The forwarded answer's body, whole. */
async function answerText(outcome: ForwardOutcome): Promise<{ status: number; text: string }> {
  if (outcome.kind === 'read') return { status: outcome.status, text: outcome.body.toString('utf8') };
  if (outcome.kind !== 'stream') throw new Error(`no answer: ${JSON.stringify(outcome)}`);
  const chunks: Buffer[] = [];
  for await (const chunk of outcome.response.body as AsyncIterable<Buffer>) chunks.push(chunk);
  return { status: outcome.response.statusCode, text: Buffer.concat(chunks).toString('utf8') };
}

/** Resolves with the first chunk of the stream that contains `text`, from now on. */
function nextChunkWith(body: Readable, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      if (!chunk.toString('utf8').includes(text)) return;
      body.off('data', onData);
      body.off('error', reject);
      resolve(chunk.toString('utf8'));
    };
    body.on('data', onData);
    body.once('error', reject);
  });
}

describe('two gateways in one process', () => {
  it('closing one leaves the other’s pools and streams alone', async () => {
    const connection = await storedConnection((await createConnection(sessions.url)).connectionId);
    const latest = async () => connection;
    const first = gatewayOverServerDatabase(latest);
    const second = gatewayOverServerDatabase(latest);
    const firstOwn = await openOwnSession(first, connection);
    const secondOwn = await openOwnSession(second, connection);
    expect((await answerText(await first.forward(connection, toolCall(1, 'echo', { message: 'first' }), { own: firstOwn, signal: new EventEmitter() }))).text).toContain('Echo: first');

    // The second gateway holds its client's GET stream open; the upstream keeps writing to it.
    const stop = new AbortController();
    const stream = await second.openStream(connection, secondOwn, undefined, stop.signal);
    if (stream.kind !== 'stream') throw new Error(JSON.stringify(stream));
    expect(stream.response.statusCode).toBe(200);
    const firstLog = nextChunkWith(stream.response.body, 'from second');
    const started = await answerText(await second.forward(connection, toolCall(2, 'start-logs', { label: 'second' }), { own: secondOwn, signal: new EventEmitter() }));
    expect(started.text).toContain('started');
    await firstLog;

    // Module-wide pools made this wait for the other instance's stream, which never ends by itself.
    await first.close();
    await nextChunkWith(stream.response.body, 'from second');
    const after = await answerText(await second.forward(connection, toolCall(3, 'echo', { message: 'still here' }), { own: secondOwn, signal: new EventEmitter() }));
    expect(after).toMatchObject({ status: 200 });
    expect(after.text).toContain('Echo: still here');
    stop.abort();
    stream.response.body.destroy();
  });
});

describe('one bearer policy for every path', () => {
  it('the GET relay, a raw forward and an SDK call refused at once share one refresh', async () => {
    const created = await createConnection(oauthUpstream.mcpUrl);
    expect(created.status.state).toBe('auth_required');
    const callback = await completeLoginWithFetch(await startAuthorizationWithFetch(created.status.authorizationUrl!), 'alice');
    expect((await deliverCallback(callback)).status).toBe(200);
    // The connection's tokens, sent to an upstream that keeps sessions and streams (the
    // protected fixture has neither) and that can be told to stop accepting them.
    const connection = await storedConnection(created.connectionId, sessions.url);
    expect(connection.oauth.tokens).toBeDefined();
    const gateway = gatewayOverServerDatabase(async () => storedConnection(created.connectionId, sessions.url));
    const own = await openOwnSession(gateway, connection);
    const refreshesBefore = (await oauthUpstream.stats()).as.refreshGrants;
    expect((await fetch(new URL('/reject-seen-bearers', sessions.url), { method: 'POST' })).ok).toBe(true);

    const stop = new AbortController();
    const [stream, forwarded, called] = await Promise.all([
      gateway.openStream(connection, own, undefined, stop.signal),
      gateway.forward(connection, toolCall(1, 'echo', { message: 'raw' }), { own, signal: new EventEmitter() }),
      gateway.call(connection, (session) => session.client.callTool({ name: 'echo', arguments: { message: 'sdk' } })),
    ]);
    if (stream.kind !== 'stream') throw new Error(JSON.stringify(stream));
    expect(stream.response.statusCode).toBe(200);
    stop.abort();
    stream.response.body.on('error', () => {}).destroy();
    expect(await answerText(forwarded)).toMatchObject({ status: 200 });
    expect(called.content).toEqual([{ type: 'text', text: 'Echo: sdk' }]);

    // Each path met the revoked token (the SDK's in opening the pooled session), and one refresh served all.
    const { refused } = (await (await fetch(new URL('/stats', sessions.url))).json()) as { refused: Record<string, number> };
    expect(refused.GET).toBeGreaterThanOrEqual(1);
    expect(refused.POST).toBeGreaterThanOrEqual(2);
    expect((await oauthUpstream.stats()).as.refreshGrants).toBe(refreshesBefore + 1);
  });

  it('a GET stream whose bearer is refused and cannot be refreshed says authorization is required, as a POST does', async () => {
    const created = await createConnection(oauthUpstream.mcpUrl);
    const callback = await completeLoginWithFetch(await startAuthorizationWithFetch(created.status.authorizationUrl!), 'alice');
    expect((await deliverCallback(callback)).status).toBe(200);
    const connection = await storedConnection(created.connectionId, sessions.url);
    const gateway = gatewayOverServerDatabase(async () => storedConnection(created.connectionId, sessions.url));
    const own = await openOwnSession(gateway, connection);
    // The bearer is refused from now on, and no refresh can replace it: the end user must authorize again.
    expect((await fetch(new URL('/reject-seen-bearers', sessions.url), { method: 'POST' })).ok).toBe(true);
    await oauthUpstream.revokeAllGrants();

    const stream = await gateway.openStream(connection, own, undefined, new AbortController().signal);
    expect(stream).toEqual({ kind: 'authorization_required' });
    const shown = await server.request(`/gateway-test/${created.connectionId}`, { bearer: account.key });
    expect(((await shown.json()) as { status: { state: string } }).status.state).toBe('auth_required');
  });
});
