import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attenuateToken } from '../../src/core/tokens/token-format.ts';
import { canary } from '../helpers/canary.ts';
import { completeLoginWithFetch, registerConfidentialClient, startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** The scan every test server runs at close() is what the credential tests rely on: it must bite. */
describe('the canary scan', () => {
  it('fails a test whose server sends a planted credential', async () => {
    const server = await startTestServer();
    const { key } = await server.newAccount();
    await server.request('/namespaces/leaky', { method: 'PUT', bearer: key });
    // Metadata is returned by design, so a canary planted there must be caught on the way out.
    const response = await server.request('/leaky', {
      method: 'POST',
      bearer: key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mcpUrl: 'http://127.0.0.1:9/mcp', metadata: { oops: canary('metadata') } }),
    });
    expect(response.status).toBe(201);
    await expect(server.close()).rejects.toThrow(/A secret left the server/);
  });

  it('fails a test whose server sends an API key', async () => {
    const server = await startTestServer();
    const { key } = await server.newAccount();
    await server.request('/namespaces/echoing', { method: 'PUT', bearer: key });
    // "Connection "<id>" not found" echoes the path: a key pasted there comes back out.
    expect((await server.request(`/echoing/${key}`, { bearer: key })).status).toBe(404);
    await expect(server.close()).rejects.toThrow(/A secret left the server/);
  });

  it('passes a server that keeps its secrets (a service token sent once, in the answer minting it)', async () => {
    const server = await startTestServer();
    const { key } = await server.newAccount();
    await server.request('/namespaces/tidy', { method: 'PUT', bearer: key });
    const token = await mint(server, key);
    expect((await server.request('/namespaces/tidy', { bearer: token })).status).toBe(200);
    await expect(server.close()).resolves.toBeUndefined();
  });
});

async function mint(server: TestServer, bearer: string): Promise<string> {
  const response = await server.request('/tokens', { method: 'POST', bearer, headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

/** A line as the server's logger writes it, carrying `value`: what a careless log call would produce. */
function plantLogLine(server: TestServer, label: string, value: string): void {
  server.rawLogs.push(`${JSON.stringify({ level: 30, time: Date.now(), msg: `planted ${label}=${value}` })}\n`);
}

describe('the scan looks for every kind of secret', () => {
  let upstream: OAuthUpstream;
  /** Issued by the real test authorization server to a client of our own, outside Switchboard. */
  let issued: { code: string; accessToken: string; refreshToken: string; clientSecret: string };

  beforeAll(async () => {
    upstream = await startOAuthUpstream();
    const redirectUri = 'http://127.0.0.1:9/callback';
    const client = await registerConfidentialClient(upstream, redirectUri);
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(`${upstream.issuer}/auth`);
    for (const [name, value] of Object.entries({
      client_id: client.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'mcp:tools',
      state: 'canary-scan',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      resource: upstream.mcpUrl,
    })) {
      authorize.searchParams.set(name, value);
    }
    const code = (await completeLoginWithFetch(authorize)).searchParams.get('code')!;
    const exchanged = await fetch(`${upstream.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, resource: upstream.mcpUrl }),
    });
    const tokens = (await exchanged.json()) as { access_token: string; refresh_token: string };
    expect(exchanged.status, JSON.stringify(tokens)).toBe(200);
    issued = { code, accessToken: tokens.access_token, refreshToken: tokens.refresh_token, clientSecret: client.clientSecret };
  });
  afterAll(() => upstream?.stop());

  it('gets codes, refresh tokens and client secrets from the test authorization server with the canary prefix', () => {
    expect(issued.code).toMatch(/^sbcanary-code-/);
    expect(issued.refreshToken).toMatch(/^sbcanary-refresh-token-/);
    expect(issued.clientSecret).toMatch(/^sbcanary-client-secret-/);
    // A JWT cannot carry a visible prefix: the scan asks the authorization server for these.
    expect(issued.accessToken).toMatch(/^eyJ/);
  });

  it('fails a server that logs an OAuth code, refresh token, client secret or access token', async () => {
    const server = await startTestServer();
    for (const [label, value] of Object.entries(issued)) plantLogLine(server, label, value);
    const failure = await server.close().then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/A secret left the server/);
    for (const label of Object.keys(issued)) expect(failure).toContain(`planted ${label}=`);
  });

  it('fails a server that logs a service token, sends one again, or sends one it never minted', async () => {
    const server = await startTestServer();
    const { key } = await server.newAccount();
    await server.request('/namespaces/tokens-leak', { method: 'PUT', bearer: key });
    const [logged, echoed, parent] = [await mint(server, key), await mint(server, key), await mint(server, key)];
    plantLogLine(server, 'logged-token', logged);
    // Metadata comes back by design: a token stored there is sent a second time.
    const offline = attenuateToken(parent, { id: 'tok_offline', exp: Math.floor(Date.now() / 1000) + 60, policy: [{}] });
    const created = await server.request('/tokens-leak', {
      method: 'POST',
      bearer: key,
      headers: { 'content-type': 'application/json' },
      // `token` mimics a minting answer's spelling; this token was attenuated offline, never minted here.
      body: JSON.stringify({ mcpUrl: 'http://127.0.0.1:9/mcp', metadata: { echoed, token: offline } }),
    });
    expect(created.status).toBe(201);
    const failure = await server.close().then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/A secret left the server/);
    expect(failure).toMatch(/service token in a log line: [^]*planted logged-token=sbt_/);
    expect(failure).toMatch(/sent again or unminted: [^]*"echoed":"sbt_/);
    expect(failure).toMatch(/sent again or unminted: [^]*"token":"sbt_/);
    // The three minting answers themselves are not leaks.
    expect(failure?.match(/service token/g)).toHaveLength(3);
  });
});
