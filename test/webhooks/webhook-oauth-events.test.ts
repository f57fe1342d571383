import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeLoginWithFetch, startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startReceiver, type Received, type Receiver } from './webhook-receiver.ts';
import { deliverCallback, startAuthorizationWithFetch } from '../helpers/authorization-link.ts';

/**
 * What webhooks are for: an app sends its user to authorize an upstream and learns that it
 * worked without polling — and learns when a refused refresh needs the user again. A real
 * authorization server (oidc-provider) and a protected MCP server; the end user is played
 * with fetch; the receiver verifies every event with the `standardwebhooks` library.
 */
const ACCESS_TOKEN_TTL_SECONDS = 2;

let server: TestServer;
let upstream: OAuthUpstream;
let receiver: Receiver;
let key: string;
let ns: string;
let connectionId: string;

async function send(method: string, pathname: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await server.request(pathname, {
    method,
    bearer: key,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

const statusEvents = (r: Received) => r.verified.ok && r.verified.event.type === 'connection.status_changed' && r.verified.event.data.connectionId === connectionId;
const states = (received: Received[]) =>
  received.map((r) => {
    if (!r.verified.ok) throw new Error(r.verified.error);
    const data = r.verified.event.data as { previousStatus: { state: string }; status: { state: string } };
    return `${data.previousStatus.state} → ${data.status.state}`;
  });

beforeAll(async () => {
  [upstream, server, receiver] = await Promise.all([startOAuthUpstream({ accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS }), startTestServer(), startReceiver()]);
  key = (await server.newAccount('oauth-webhooks')).key;
  ns = (await send('POST', '/namespaces')).body.name;
  const created = await send('POST', `/namespaces/${ns}/webhooks`, { url: receiver.url, events: ['connection.status_changed'] });
  expect(created.status).toBe(201);
  receiver.secret = created.body.secret;
});
afterAll(async () => {
  await server?.close();
  await upstream?.stop();
  await receiver?.close();
});

describe('OAuth through webhooks', () => {
  it('a new connection to a protected upstream: auth_required', async () => {
    const created = await send('POST', `/${ns}`, { mcpUrl: upstream.mcpUrl });
    expect(created.body.status.state).toBe('auth_required');
    connectionId = created.body.connectionId;
    expect(states(await receiver.waitFor(1, statusEvents))).toEqual(['disconnected → auth_required']);
  });

  it('the user authorizes: the app is told the connection is connected', async () => {
    const link = (await send('GET', `/${ns}/${connectionId}`)).body.status.authorizationUrl as string;
    const callback = await completeLoginWithFetch(await startAuthorizationWithFetch(link), 'erin');
    expect((await deliverCallback(callback)).status).toBe(200);
    const received = await receiver.waitFor(2, statusEvents);
    expect(states(received)).toEqual(['disconnected → auth_required', 'auth_required → connected']);
    // Links are minted per view and never stored: the event carries none.
    expect(received[1]!.body).not.toMatch(/authorizationUrl|setupUrl|oauth\/authorize/);
  });

  it('a refresh the authorization server refuses: the app is told authorization is required again', async () => {
    expect((await send('POST', `/${ns}/${connectionId}/.tools/whoami`, {})).status).toBe(200);
    expect(await upstream.revokeAllGrants()).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, ACCESS_TOKEN_TTL_SECONDS * 1000 + 400));
    expect((await send('POST', `/${ns}/${connectionId}/.tools/whoami`, {})).status).toBe(409);
    expect((await send('POST', `/${ns}/${connectionId}/.tools/whoami`, {})).status).toBe(409);
    const received = await receiver.waitFor(3, statusEvents);
    expect(states(received)).toEqual(['disconnected → auth_required', 'auth_required → connected', 'connected → auth_required']);
    const audit = await send('GET', '/audit-events?type=oauth.refresh_failed');
    expect(audit.body.events).toHaveLength(1);
    // One change, one event: the calls refused afterwards add none.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received.filter(statusEvents)).toHaveLength(3);
    expect(receiver.received.every((r) => r.verified.ok)).toBe(true);
  });
});
