import dns from 'node:dns/promises';
import os from 'node:os';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { freePort, startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';
import { eventOf, eventually, webhookClient, type Delivery, type WebhookClient } from './webhook-client.ts';
import { startReceiver, type Received } from './webhook-receiver.ts';

/**
 * Delivering over real HTTP: Standard Webhooks signatures verified by the `standardwebhooks`
 * library, connection status changes of a real upstream, retries with backoff seen through the
 * deliveries API, and unreachable and refused (SSRF) receivers.
 */
const RETRY_BASE_MS = 300;
const MAX_ATTEMPTS = 3;

let server: TestServer;
let upstream: Upstream;
let client: WebhookClient;
let ns: string;

beforeAll(async () => {
  [server, upstream] = await Promise.all([
    startTestServer({ WEBHOOK_RETRY_BASE_MS: String(RETRY_BASE_MS), WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS), UPSTREAM_TIMEOUT_MS: '5000' }),
    startFixtureUpstream('sessions'),
  ]);
  client = webhookClient(server, (await server.newAccount('webhook-owner')).key);
  ns = (await client.send('POST', '/namespaces')).body.name;
});
afterAll(async () => {
  await server?.close();
  await upstream?.stop();
  await client?.close();
});

describe('delivering', () => {
  it('sends a test event signed as Standard Webhooks specify; the deliveries API shows it', async () => {
    const { receiver, webhook } = await client.hookedReceiver(ns);
    const queued = await client.send('POST', `/namespaces/${ns}/webhooks/${webhook.webhookId}/test`);
    expect(queued.status).toBe(202);
    const [got] = await receiver.waitFor(1);
    expect(got!.headers['webhook-id']).toBe(queued.body.eventId);
    expect(got!.headers['content-type']).toBe('application/json');
    expect(eventOf(got!)).toEqual({ type: 'webhook.test', timestamp: expect.any(String), data: { namespace: ns, webhookId: webhook.webhookId } });
    // The check can fail: another secret, or a body changed by a byte, does not verify.
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(got!.body, got!.headers)).toThrow(/signature/i);
    expect(() => new Webhook(webhook.secret).verify(got!.body.replace('webhook.test', 'webhook.tesT'), got!.headers)).toThrow(/signature/i);
    const [delivery] = await eventually(() => client.deliveriesOf(ns, webhook.webhookId), (d) => d[0]?.status === 'succeeded');
    expect(delivery).toMatchObject({ eventId: queued.body.eventId, eventType: 'webhook.test', status: 'succeeded', attemptCount: 1, nextAttemptAt: null });
    expect(delivery!.attempts).toEqual([{ attempt: 1, attemptedAt: expect.any(String), durationMs: expect.any(Number), responseStatus: 200, error: null }]);
    expect(delivery!.payload).toEqual(JSON.parse(got!.body));
  });

  it('reports a connection’s status changes, once per change, to the webhooks that want them', async () => {
    const { receiver: all } = await client.hookedReceiver(ns);
    const { receiver: deletions } = await client.hookedReceiver(ns, { events: ['connection.deleted'] });
    const created = await client.send('POST', `/${ns}`, { mcpUrl: upstream.url, name: 'fixture', metadata: { userId: 'alice' } });
    expect(created.status).toBe(201);
    const id = created.body.connectionId as string;
    const forThis = (r: Received) => r.verified.ok && (r.verified.event.data as { connectionId?: string }).connectionId === id;
    const [first] = await all.waitFor(1, forThis);
    expect(eventOf(first!)).toEqual({
      type: 'connection.status_changed',
      timestamp: expect.any(String),
      data: { namespace: ns, connectionId: id, name: 'fixture', metadata: { userId: 'alice' }, status: { state: 'connected' }, previousStatus: { state: 'disconnected' } },
    });

    // The upstream goes away: calls fail, but only the first one changes the stored status.
    await upstream.stop();
    for (let i = 0; i < 3; i++) expect((await client.send('POST', `/${ns}/${id}/.tools/echo`, { message: 'hi' })).status).toBe(502);
    const [, failed] = await all.waitFor(2, forThis);
    const failure = eventOf(failed!).data as { status: { state: string; message: string }; previousStatus: unknown };
    expect(failure.status).toEqual({ state: 'error', message: expect.stringMatching(/127\.0\.0\.1/) });
    expect(failure.previousStatus).toEqual({ state: 'connected' });

    await upstream.restart();
    expect((await client.send('POST', `/${ns}/${id}/.tools/echo`, { message: 'back' })).status).toBe(200);
    await all.waitFor(3, forThis);
    expect((await client.send('DELETE', `/${ns}/${id}`)).status).toBe(200);
    const events = (await all.waitFor(4, forThis)).map(eventOf);
    expect(events.map((e) => `${e.type}:${(e.data.status as { state?: string } | undefined)?.state ?? '-'}`)).toEqual([
      'connection.status_changed:connected',
      'connection.status_changed:error',
      'connection.status_changed:connected',
      'connection.deleted:-',
    ]);
    expect(events[3]!.data).toEqual({ namespace: ns, connectionId: id, name: 'fixture', metadata: { userId: 'alice' } });
    // The webhook subscribed to deletions only got the deletion.
    const onlyDeleted = await deletions.waitFor(1, forThis);
    expect(onlyDeleted.map((r) => eventOf(r).type)).toEqual(['connection.deleted']);
    // Nothing more arrives for it (three failed calls made one event).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(all.received.filter(forThis)).toHaveLength(4);
  });

  it('reports input completed: input_required, then connected once the configuration is given', async () => {
    const configKey = `cfg-${Date.now()}`;
    const configured = await startFixtureUpstream('sessions', { requireApiKey: configKey, configSchema: true });
    try {
      const { receiver } = await client.hookedReceiver(ns, { events: ['connection.status_changed'] });
      const created = await client.send('POST', `/${ns}`, { mcpUrl: configured.url });
      expect(created.body.status.state).toBe('input_required');
      const id = created.body.connectionId as string;
      const forThis = (r: Received) => r.verified.ok && r.verified.event.data.connectionId === id;
      const [needed] = await receiver.waitFor(1, forThis);
      expect(eventOf(needed!).data).toMatchObject({
        status: { state: 'input_required', missing: { headers: ['x-api-key'], query: ['region'] } },
        previousStatus: { state: 'disconnected' },
      });
      const put = await client.send('PUT', `/${ns}/${id}`, { mcpUrl: `${configured.url}?region=eu`, headers: { 'x-api-key': configKey } });
      expect(put.body.status.state).toBe('connected');
      const [, completed] = await receiver.waitFor(2, forThis);
      expect(eventOf(completed!).data).toMatchObject({ status: { state: 'connected' }, previousStatus: { state: 'input_required', missing: { headers: ['x-api-key'], query: ['region'] } } });
      // Credentials are never part of an event.
      expect(receiver.received.map((r) => r.body).join('')).not.toContain(configKey);
    } finally {
      await configured.stop();
    }
  });

  it('retries a receiver that answers 500 twice: three attempts, one event id, spaced by the backoff', async () => {
    const { receiver, webhook } = await client.hookedReceiver(ns);
    receiver.answerNext(500, 500);
    const { eventId } = (await client.send('POST', `/namespaces/${ns}/webhooks/${webhook.webhookId}/test`)).body;
    const got = await receiver.waitFor(3);
    expect(got.map((r) => [r.headers['webhook-id'], r.answered, r.verified.ok])).toEqual([
      [eventId, 500, true],
      [eventId, 500, true],
      [eventId, 200, true],
    ]);
    const [delivery] = await eventually(() => client.deliveriesOf(ns, webhook.webhookId), (d) => d[0]?.status === 'succeeded');
    expect(delivery).toMatchObject({ eventId, status: 'succeeded', attemptCount: 3, nextAttemptAt: null });
    expect(delivery!.attempts.map((a) => [a.attempt, a.responseStatus, a.error])).toEqual([
      [1, 500, 'The receiver answered HTTP 500'],
      [2, 500, 'The receiver answered HTTP 500'],
      [3, 200, null],
    ]);
    // Never earlier than the schedule: the base after the first failure, six times it after the second.
    const at = delivery!.attempts.map((a) => Date.parse(a.attemptedAt));
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(RETRY_BASE_MS);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(6 * RETRY_BASE_MS);
    // Each attempt is signed anew, with its own timestamp (the first and last are over 2 s apart).
    expect(got[2]!.headers['webhook-timestamp']).not.toBe(got[0]!.headers['webhook-timestamp']);
  });

  it('takes a redirect for a failed attempt, without following it', async () => {
    const { receiver, webhook } = await client.hookedReceiver(ns);
    receiver.answerNext(307);
    await client.send('POST', `/namespaces/${ns}/webhooks/${webhook.webhookId}/test`);
    await receiver.waitFor(2);
    const [delivery] = await eventually(() => client.deliveriesOf(ns, webhook.webhookId), (d) => d[0]?.status === 'succeeded');
    expect(delivery!.attempts.map((a) => [a.responseStatus, a.error])).toEqual([
      [307, 'Redirected (HTTP 307): webhooks do not follow redirects'],
      [200, null],
    ]);
  });

  it('records every attempt at an unreachable receiver, and gives up after WEBHOOK_MAX_ATTEMPTS', async () => {
    const port = await freePort();
    const created = await client.send('POST', `/namespaces/${ns}/webhooks`, { url: `http://127.0.0.1:${port}/hook` });
    client.secrets.push(created.body.secret);
    const { eventId } = (await client.send('POST', `/namespaces/${ns}/webhooks/${created.body.webhookId}/test`)).body;
    const [delivery] = await eventually(() => client.deliveriesOf(ns, created.body.webhookId), (d) => d[0]?.status === 'failed');
    expect(delivery).toMatchObject({ eventId, status: 'failed', attemptCount: MAX_ATTEMPTS, nextAttemptAt: null });
    expect(delivery!.attempts).toHaveLength(MAX_ATTEMPTS);
    for (const attempt of delivery!.attempts) {
      expect(attempt).toMatchObject({ responseStatus: null, error: expect.stringMatching(/Connection refused by 127\.0\.0\.1/) });
    }
  });

  it('pages through deliveries, newest first', async () => {
    const { receiver, webhook } = await client.hookedReceiver(ns);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await client.send('POST', `/namespaces/${ns}/webhooks/${webhook.webhookId}/test`)).body.eventId);
    await receiver.waitFor(3);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { deliveries: Delivery[]; nextCursor: string | null } } = await client.send(
        'GET',
        `/namespaces/${ns}/webhooks/${webhook.webhookId}/deliveries?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.body.deliveries.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.deliveries.map((d) => d.eventId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });
});

describe('refused receivers (SSRF)', () => {
  it('a name resolving to a non-public address is refused at delivery, and never reached', async (context) => {
    const hostname = os.hostname();
    const addresses = await dns.lookup(hostname, { all: true }).catch(() => []);
    // Needs a name that is not `localhost` and resolves to loopback or a private address (Linux machines have one: their own).
    if (addresses.length === 0 || addresses.some((a) => !/^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|::1$|f[cd])/.test(a.address))) context.skip();
    const strict = await startTestServer({ ALLOWED_UPSTREAM_HOSTS: '', WEBHOOK_MAX_ATTEMPTS: '1' });
    try {
      const { key } = await strict.newAccount('strict');
      const call = async (method: string, pathname: string, body?: unknown) => {
        const response = await strict.request(pathname, { method, bearer: key, ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
        return { status: response.status, body: (await response.json()) as any };
      };
      const namespace = (await call('POST', '/namespaces')).body.name;
      const receiver = await startReceiver();
      client.receivers.push(receiver);
      const port = new URL(receiver.url).port;
      // An address is refused when registering; a name is judged after DNS, when delivering.
      expect((await call('POST', `/namespaces/${namespace}/webhooks`, { url: `http://127.0.0.1:${port}/hooks/switchboard` })).status).toBe(400);
      const created = await call('POST', `/namespaces/${namespace}/webhooks`, { url: `http://${hostname}:${port}/hooks/switchboard` });
      expect(created.status).toBe(201);
      await call('POST', `/namespaces/${namespace}/webhooks/${created.body.webhookId}/test`);
      const [delivery] = await eventually(
        async () => (await call('GET', `/namespaces/${namespace}/webhooks/${created.body.webhookId}/deliveries`)).body.deliveries as Delivery[],
        (d) => d[0]?.status === 'failed',
      );
      // Read the same as a name that does not resolve (no internal-DNS oracle); the operator's log says which.
      const unreachable = (host: string) => `The receiver host ${host.toLowerCase()} could not be reached (not found, or not an allowed address; see ALLOWED_UPSTREAM_HOSTS)`;
      expect(delivery!.attempts[0]!.error).toBe(unreachable(hostname));
      expect(receiver.received).toEqual([]);
      const missing = await call('POST', `/namespaces/${namespace}/webhooks`, { url: `http://no-such-receiver.invalid:${port}/hooks/switchboard` });
      expect(missing.status).toBe(201);
      await call('POST', `/namespaces/${namespace}/webhooks/${missing.body.webhookId}/test`);
      const [notFound] = await eventually(
        async () => (await call('GET', `/namespaces/${namespace}/webhooks/${missing.body.webhookId}/deliveries`)).body.deliveries as Delivery[],
        (d) => d[0]?.status === 'failed',
      );
      expect(notFound!.attempts[0]!.error).toBe(unreachable('no-such-receiver.invalid'));
      expect(strict.logs.some((line) => line.level === 40 && /resolves to a blocked \((loopback|private|unique-local)\) address/.test(String(line.msg)))).toBe(true);
    } finally {
      await strict.close();
    }
  });
});

describe('secrets', () => {
  it('no signing secret was logged or sent to a receiver', () => {
    expect(client.secrets.length).toBeGreaterThan(3);
    const logs = server.rawLogs.join('');
    const sentToReceivers = client.receivers.flatMap((r) => r.received.map((got) => JSON.stringify(got.headers) + got.body)).join('');
    expect(sentToReceivers.length).toBeGreaterThan(0);
    for (const secret of client.secrets) {
      expect(logs).not.toContain(secret.slice(6));
      expect(sentToReceivers).not.toContain(secret.slice(6));
    }
  });
});
