import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeLoginWithFetch, startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { parseExposition, sum } from './prometheus-text.ts';
import { deliverCallback, startAuthorizationWithFetch } from '../helpers/authorization-link.ts';

/**
 * OAuth refresh metrics against a real authorization server, whose own counters are the
 * witness: a refresh it granted counts once in switchboard_oauth_refreshes_total; a refresh it
 * refused (grants revoked) counts once as a failure with reason `refused`.
 */
const METRICS_TOKEN = 'oauth-metrics-token-0123456789';
const ACCESS_TOKEN_TTL_SECONDS = 2;
const PAST_EXPIRY_MS = ACCESS_TOKEN_TTL_SECONDS * 1000 + 500;
const NS = 'oauth-metrics';

let upstream: OAuthUpstream;
let server: TestServer;
let key: string;
let connectionId: string;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function refreshMetrics(): Promise<{ refreshed: number; refused: number; failed: number }> {
  const response = await server.request('/metrics', { bearer: METRICS_TOKEN });
  const exposition = parseExposition(await response.text());
  return {
    refreshed: sum(exposition, 'switchboard_oauth_refreshes_total'),
    refused: sum(exposition, 'switchboard_oauth_refresh_failures_total', { reason: 'refused' }),
    failed: sum(exposition, 'switchboard_oauth_refresh_failures_total'),
  };
}

async function callWhoami(): Promise<number> {
  const response = await server.request(`/${NS}/${connectionId}/.tools/whoami`, {
    method: 'POST',
    bearer: key,
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  await response.text();
  return response.status;
}

beforeAll(async () => {
  upstream = await startOAuthUpstream({ accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS });
  server = await startTestServer({ METRICS_TOKEN });
  ({ key } = await server.newAccount());
  expect((await server.request(`/namespaces/${NS}`, { method: 'PUT', bearer: key })).status).toBe(201);
  const created = await server.request(`/${NS}`, {
    method: 'POST',
    bearer: key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mcpUrl: upstream.mcpUrl }),
  });
  const connection = (await created.json()) as { connectionId: string; status: { authorizationUrl: string } };
  connectionId = connection.connectionId;
  const callback = await completeLoginWithFetch(await startAuthorizationWithFetch(connection.status.authorizationUrl), 'alice');
  expect((await deliverCallback(callback)).status).toBe(200);
  expect(await callWhoami()).toBe(200);
});

afterAll(async () => {
  await server?.close();
  await upstream?.stop();
});

describe('OAuth refresh metrics', () => {
  it('counts a granted refresh once, as the authorization server saw it', async () => {
    const before = await refreshMetrics();
    const granted = (await upstream.stats()).as.refreshGrants;
    await sleep(PAST_EXPIRY_MS);
    expect(await callWhoami()).toBe(200);
    const after = await refreshMetrics();
    expect((await upstream.stats()).as.refreshGrants - granted).toBe(1);
    expect(after.refreshed - before.refreshed).toBe(1);
    expect(after.failed - before.failed).toBe(0);
  });

  it('counts a refused refresh once, with reason refused', async () => {
    const before = await refreshMetrics();
    expect(await upstream.revokeAllGrants()).toBeGreaterThan(0);
    await sleep(PAST_EXPIRY_MS);
    // The connection needs authorization again: a 409 that retrying cannot fix.
    expect(await callWhoami()).toBe(409);
    const after = await refreshMetrics();
    expect(after.refused - before.refused).toBe(1);
    expect(after.failed - before.failed).toBe(1);
    expect(after.refreshed - before.refreshed).toBe(0);
  });
});
