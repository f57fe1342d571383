import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { eventually, webhookClient, type WebhookClient } from './webhook-client.ts';

/**
 * The webhook API over real HTTP: registration and its checks, access (API keys only; other
 * accounts see nothing), removal, retention of deliveries, and the signing secret shown once.
 */
let server: TestServer;
let client: WebhookClient;
let ownerKey: string;
let stranger: { key: string };
let ns: string;

beforeAll(async () => {
  server = await startTestServer();
  ownerKey = (await server.newAccount('webhook-owner')).key;
  client = webhookClient(server, ownerKey);
  stranger = await server.newAccount('webhook-stranger');
  ns = (await client.send('POST', '/namespaces')).body.name;
});
afterAll(async () => {
  await server?.close();
  await client?.close();
});

// First: the worker prunes at its first look at the outbox once a webhook exists (then hourly).
describe('retention', () => {
  it('deliveries that ended more than 30 days ago are deleted; pending and recent ones stay', async () => {
    const own = (await client.send('POST', '/namespaces')).body.name as string;
    const { receiver, webhook } = await client.hookedReceiver(own);
    const aged = new Date(Date.now() - 31 * 24 * 3600_000);
    const recent = new Date(Date.now() - 29 * 24 * 3600_000);
    const row = (eventId: string, status: 'pending' | 'succeeded' | 'failed', createdAt: Date) => ({
      webhook_id: webhook.webhookId,
      event_id: eventId,
      event_type: 'webhook.test',
      payload: '{}',
      status,
      // Pending, but not due for a day: only its age is in question here.
      next_attempt_at: status === 'pending' ? new Date(Date.now() + 24 * 3600_000) : null,
      created_at: createdAt,
    });
    const planted = ['msg_old_succeeded', 'msg_old_failed', 'msg_old_pending', 'msg_recent'];
    await server.db
      .insertInto('webhook_deliveries')
      .values([row('msg_old_succeeded', 'succeeded', aged), row('msg_old_failed', 'failed', aged), row('msg_old_pending', 'pending', aged), row('msg_recent', 'succeeded', recent)])
      .execute();
    await client.send('POST', `/namespaces/${own}/webhooks/${webhook.webhookId}/test`);
    await receiver.waitFor(1);
    const left = await eventually(
      () => server.db.selectFrom('webhook_deliveries').select('event_id').where('webhook_id', '=', webhook.webhookId).where('event_id', 'in', planted).execute(),
      (rows) => rows.length === 2,
    );
    expect(left.map((r) => r.event_id).sort()).toEqual(['msg_old_pending', 'msg_recent']);
  });
});

describe('registering a webhook', () => {
  it('answers 201 with the webhook and its whsec_ secret, which list and get never show', async () => {
    const { webhook, receiver } = await client.hookedReceiver(ns, { description: 'my app' });
    expect(webhook).toEqual({
      webhookId: expect.stringMatching(/^wh_[a-z2-7]{16}$/),
      url: receiver.url,
      events: null,
      description: 'my app',
      createdAt: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    const list = await client.send('GET', `/namespaces/${ns}/webhooks`);
    expect(list.status).toBe(200);
    const { secret: _secret, ...shown } = webhook;
    expect(list.body.webhooks).toContainEqual(shown);
    const one = await client.send('GET', `/namespaces/${ns}/webhooks/${webhook.webhookId}`);
    expect(one.body).toEqual(shown);
    expect(list.text + one.text).not.toContain(webhook.secret.slice(6));
    const audit = await client.send('GET', '/audit-events?type=webhook.created');
    expect(audit.body.events[0]).toMatchObject({ namespace: ns, details: { webhookId: webhook.webhookId, host: new URL(receiver.url).host, events: null } });
  });

  it.each([
    ['a URL that is not one', { url: 'not a url' }, /not a valid absolute URL/],
    ['another scheme', { url: 'ftp://127.0.0.1/hook' }, /http or https/],
    ['a user name and password', { url: 'http://user:pw@127.0.0.1/hook' }, /user name or password/],
    ['a fragment', { url: 'http://127.0.0.1/hook#x' }, /fragment/],
    ['a private address', { url: 'http://10.0.0.5/hook' }, /10\.0\.0\.5.*private.*ALLOWED_UPSTREAM_HOSTS/],
    ['the cloud metadata address', { url: 'http://169.254.169.254/latest' }, /link-local.*ALLOWED_UPSTREAM_HOSTS/],
    ['a mapped IPv6 form of a private address', { url: 'http://[::ffff:192.168.0.1]/hook' }, /not allowed/],
    ['a loopback address outside the allowlist', { url: 'http://127.0.0.2/hook' }, /loopback/],
    ['an unknown event type', { url: 'http://127.0.0.1/hook', events: ['connection.exploded'] }, /Unknown event type "connection.exploded": the types are connection.status_changed, connection.deleted/],
    ['no event type at all', { url: 'http://127.0.0.1/hook', events: [] }, /at least one event type/],
    ['the test event as a subscription', { url: 'http://127.0.0.1/hook', events: ['webhook.test'] }, /Unknown event type/],
    ['a NUL in the description', { url: 'http://127.0.0.1/hook', description: 'a\u0000b' }, /NUL/],
    ['no url', { events: ['connection.deleted'] }, /url/],
    ['a url that is not a string', { url: 42 }, /url/],
  ])('refuses %s with 400', async (_label, body, message) => {
    const answer = await client.send('POST', `/namespaces/${ns}/webhooks`, body);
    expect(answer.status, answer.text).toBe(400);
    expect(answer.body).toEqual({ error: 'validation_error', message: expect.stringMatching(message) });
  });

  it('refuses an eleventh webhook in a namespace with 400', async () => {
    const crowded = (await client.send('POST', '/namespaces')).body.name as string;
    for (let i = 0; i < 10; i++) expect((await client.send('POST', `/namespaces/${crowded}/webhooks`, { url: `http://127.0.0.1:9/hook${i}` })).status).toBe(201);
    const refused = await client.send('POST', `/namespaces/${crowded}/webhooks`, { url: 'http://127.0.0.1:9/hook10' });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/at most 10 webhooks/);
    expect((await client.send('GET', `/namespaces/${crowded}/webhooks`)).body.webhooks).toHaveLength(10);
  });

  it('answers 404 for an unknown or malformed webhook id, and 400 for a cursor it never issued', async () => {
    for (const id of ['wh_aaaaaaaaaaaaaaaa', 'nope', 'wh_%00']) {
      const answer = await client.send('GET', `/namespaces/${ns}/webhooks/${id}`);
      expect(answer.status).toBe(404);
      expect(answer.body.error).toBe('not_found');
    }
    const { webhook } = await client.hookedReceiver(ns);
    const cursor = await client.send('GET', `/namespaces/${ns}/webhooks/${webhook.webhookId}/deliveries?cursor=bogus`);
    expect(cursor.status).toBe(400);
  });
});

describe('access', () => {
  let webhookId: string;
  beforeAll(async () => {
    webhookId = (await client.hookedReceiver(ns)).webhook.webhookId;
  });
  const routes = () => [
    ['POST', `/namespaces/${ns}/webhooks`, { url: 'http://127.0.0.1:9/hook' }],
    ['GET', `/namespaces/${ns}/webhooks`],
    ['GET', `/namespaces/${ns}/webhooks/${webhookId}`],
    ['GET', `/namespaces/${ns}/webhooks/${webhookId}/deliveries`],
    ['POST', `/namespaces/${ns}/webhooks/${webhookId}/test`],
    ['DELETE', `/namespaces/${ns}/webhooks/${webhookId}`],
  ] as [string, string, unknown?][];

  it('refuses service tokens with 403, even one with the full reach of the key', async () => {
    const token = (await client.send('POST', '/tokens', {})).body.token as string;
    for (const [method, pathname, body] of routes()) {
      const answer = await client.send(method, pathname, body, token);
      expect(answer.status, `${method} ${pathname}`).toBe(403);
      expect(answer.body.error).toBe('forbidden');
    }
  });

  it('answers another account 404, as for a namespace that does not exist', async () => {
    for (const [method, pathname, body] of routes()) {
      const answer = await client.send(method, pathname, body, stranger.key);
      expect(answer.status, `${method} ${pathname}`).toBe(404);
      const missing = await client.send(method, pathname.replace(ns, 'no-such-namespace'), body, stranger.key);
      expect(answer.text.replace(ns, '<ns>')).toBe(missing.text.replace('no-such-namespace', '<ns>'));
    }
    expect((await client.send('GET', `/namespaces/${ns}/webhooks/${webhookId}`)).status).toBe(200);
  });

  it('serves the same procedures over tRPC', async () => {
    const response = await server.request(`/trpc/webhooks.list?input=${encodeURIComponent(JSON.stringify({ name: ns }))}`, { bearer: ownerKey });
    const body = (await response.json()) as { result: { data: { webhooks: { webhookId: string }[] } } };
    expect(response.status).toBe(200);
    expect(body.result.data.webhooks.map((w) => w.webhookId)).toContain(webhookId);
  });
});

describe('removal', () => {
  it('deleting a webhook removes it and its deliveries, with an audit event', async () => {
    const { webhook } = await client.hookedReceiver(ns);
    await client.send('POST', `/namespaces/${ns}/webhooks/${webhook.webhookId}/test`);
    expect(await client.send('DELETE', `/namespaces/${ns}/webhooks/${webhook.webhookId}`)).toMatchObject({ status: 200, body: { success: true } });
    expect((await client.send('GET', `/namespaces/${ns}/webhooks/${webhook.webhookId}`)).status).toBe(404);
    expect((await client.send('DELETE', `/namespaces/${ns}/webhooks/${webhook.webhookId}`)).status).toBe(404);
    expect(await server.db.selectFrom('webhook_deliveries').select('event_id').where('webhook_id', '=', webhook.webhookId).execute()).toEqual([]);
    const audit = await client.send('GET', '/audit-events?type=webhook.deleted');
    expect(audit.body.events[0]).toMatchObject({ namespace: ns, actor: { type: 'api_key' }, details: { webhookId: webhook.webhookId } });
  });

  it('deleting a namespace deletes its webhooks', async () => {
    const doomed = (await client.send('POST', '/namespaces')).body.name as string;
    await client.hookedReceiver(doomed);
    expect((await client.send('DELETE', `/namespaces/${doomed}`)).status).toBe(200);
    expect(await server.db.selectFrom('webhooks').select('id').where('namespace', '=', doomed).execute()).toEqual([]);
  });

  it('no signing secret was ever logged, sent to a receiver, or stored in plaintext', async () => {
    expect(client.secrets.length).toBeGreaterThan(5);
    const logs = server.rawLogs.join('');
    const sentToReceivers = client.receivers.flatMap((r) => r.received.map((got) => JSON.stringify(got.headers) + got.body)).join('');
    const stored = JSON.stringify(await server.db.selectFrom('webhooks').selectAll().execute());
    expect(stored).toContain('sb1.');
    for (const secret of client.secrets) {
      for (const haystack of [logs, sentToReceivers, stored]) expect(haystack).not.toContain(secret.slice(6));
    }
  });
});
