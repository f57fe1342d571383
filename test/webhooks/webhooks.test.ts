import dns from 'node:dns/promises';
import os from 'node:os';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { freePort, startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';
import { startReceiver, type Received, type Receiver } from './webhook-receiver.ts';

/**
 * Webhooks over real HTTP: registration and its checks, Standard Webhooks signatures verified
 * by the `standardwebhooks` library, connection status changes of a real upstream, retries
 * with backoff seen through the deliveries API, unreachable and refused receivers, access
 * (API keys only, other accounts see nothing) and the secret shown once.
 */
const RETRY_BASE_MS = 300;
const MAX_ATTEMPTS = 3;

type Created = { webhookId: string; url: string; events: string[] | null; description: string | null; createdAt: string; secret: string };
type Attempt = { attempt: number; attemptedAt: string; durationMs: number; responseStatus: number | null; error: string | null };
type Delivery = { eventId: string; eventType: string; status: string; attemptCount: number; nextAttemptAt: string | null; payload: unknown; attempts: Attempt[] };

let server: TestServer;
let upstream: Upstream;
let owner: { key: string; accountId: string };
let stranger: { key: string };
let ns: string;
const receivers: Receiver[] = [];
const secrets: string[] = [];

async function send(method: string, pathname: string, body?: unknown, bearer = owner.key): Promise<{ status: number; body: any; text: string }> {
  const response = await server.request(pathname, {
    method,
    bearer,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
}

/** A receiver with a webhook of `ns` pointing at it; the receiver verifies with its secret. */
async function hookedReceiver(input: { events?: string[]; description?: string } = {}, namespace = ns): Promise<{ receiver: Receiver; webhook: Created }> {
  const receiver = await startReceiver();
  receivers.push(receiver);
  const created = await send('POST', `/namespaces/${namespace}/webhooks`, { url: receiver.url, ...input });
  expect(created.status, created.text).toBe(201);
  receiver.secret = created.body.secret;
  secrets.push(created.body.secret);
  return { receiver, webhook: created.body as Created };
}

async function deliveriesOf(webhookId: string, namespace = ns): Promise<Delivery[]> {
  const answer = await send('GET', `/namespaces/${namespace}/webhooks/${webhookId}/deliveries?limit=100`);
  expect(answer.status, answer.text).toBe(200);
  return answer.body.deliveries as Delivery[];
}

async function eventually<T>(read: () => Promise<T>, until: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (until(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const eventOf = (r: Received) => {
  if (!r.verified.ok) throw new Error(`signature check failed: ${r.verified.error}`);
  return r.verified.event;
};

beforeAll(async () => {
  [server, upstream] = await Promise.all([
    startTestServer({ WEBHOOK_RETRY_BASE_MS: String(RETRY_BASE_MS), WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS), UPSTREAM_TIMEOUT_MS: '5000' }),
    startFixtureUpstream('sessions'),
  ]);
  owner = await server.newAccount('webhook-owner');
  stranger = await server.newAccount('webhook-stranger');
  ns = (await send('POST', '/namespaces')).body.name;
});
afterAll(async () => {
  await server?.close();
  await upstream?.stop();
  await Promise.all(receivers.map((r) => r.close()));
});

// First: the worker prunes at its first look at the outbox once a webhook exists (then hourly).
describe('retention', () => {
  it('deliveries that ended more than 30 days ago are deleted; pending and recent ones stay', async () => {
    const own = (await send('POST', '/namespaces')).body.name as string;
    const { receiver, webhook } = await hookedReceiver({}, own);
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
    await send('POST', `/namespaces/${own}/webhooks/${webhook.webhookId}/test`);
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
    const { webhook, receiver } = await hookedReceiver({ description: 'my app' });
    expect(webhook).toEqual({
      webhookId: expect.stringMatching(/^wh_[a-z2-7]{16}$/),
      url: receiver.url,
      events: null,
      description: 'my app',
      createdAt: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    const list = await send('GET', `/namespaces/${ns}/webhooks`);
    expect(list.status).toBe(200);
    const { secret: _secret, ...shown } = webhook;
    expect(list.body.webhooks).toContainEqual(shown);
    const one = await send('GET', `/namespaces/${ns}/webhooks/${webhook.webhookId}`);
    expect(one.body).toEqual(shown);
    expect(list.text + one.text).not.toContain(webhook.secret.slice(6));
    const audit = await send('GET', '/audit-events?type=webhook.created');
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
    const answer = await send('POST', `/namespaces/${ns}/webhooks`, body);
    expect(answer.status, answer.text).toBe(400);
    expect(answer.body).toEqual({ error: 'validation_error', message: expect.stringMatching(message) });
  });

  it('refuses an eleventh webhook in a namespace with 400', async () => {
    const crowded = (await send('POST', '/namespaces')).body.name as string;
    for (let i = 0; i < 10; i++) expect((await send('POST', `/namespaces/${crowded}/webhooks`, { url: `http://127.0.0.1:9/hook${i}` })).status).toBe(201);
    const refused = await send('POST', `/namespaces/${crowded}/webhooks`, { url: 'http://127.0.0.1:9/hook10' });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/at most 10 webhooks/);
    expect((await send('GET', `/namespaces/${crowded}/webhooks`)).body.webhooks).toHaveLength(10);
  });

  it('answers 404 for an unknown or malformed webhook id, and 400 for a cursor it never issued', async () => {
    for (const id of ['wh_aaaaaaaaaaaaaaaa', 'nope', 'wh_%00']) {
      const answer = await send('GET', `/namespaces/${ns}/webhooks/${id}`);
      expect(answer.status).toBe(404);
      expect(answer.body.error).toBe('not_found');
    }
    const { webhook } = await hookedReceiver();
    const cursor = await send('GET', `/namespaces/${ns}/webhooks/${webhook.webhookId}/deliveries?cursor=bogus`);
    expect(cursor.status).toBe(400);
  });
});

describe('access', () => {
  let webhookId: string;
  beforeAll(async () => {
    webhookId = (await hookedReceiver()).webhook.webhookId;
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
    const token = (await send('POST', '/tokens', {})).body.token as string;
    for (const [method, pathname, body] of routes()) {
      const answer = await send(method, pathname, body, token);
      expect(answer.status, `${method} ${pathname}`).toBe(403);
      expect(answer.body.error).toBe('forbidden');
    }
  });

  it('answers another account 404, as for a namespace that does not exist', async () => {
    for (const [method, pathname, body] of routes()) {
      const answer = await send(method, pathname, body, stranger.key);
      expect(answer.status, `${method} ${pathname}`).toBe(404);
      const missing = await send(method, pathname.replace(ns, 'no-such-namespace'), body, stranger.key);
      expect(answer.text.replace(ns, '<ns>')).toBe(missing.text.replace('no-such-namespace', '<ns>'));
    }
    expect((await send('GET', `/namespaces/${ns}/webhooks/${webhookId}`)).status).toBe(200);
  });

  it('serves the same procedures over tRPC', async () => {
    const response = await server.request(`/trpc/webhooks.list?input=${encodeURIComponent(JSON.stringify({ name: ns }))}`, { bearer: owner.key });
    const body = (await response.json()) as { result: { data: { webhooks: { webhookId: string }[] } } };
    expect(response.status).toBe(200);
    expect(body.result.data.webhooks.map((w) => w.webhookId)).toContain(webhookId);
  });
});

describe('delivering', () => {
  it('sends a test event signed as Standard Webhooks specify; the deliveries API shows it', async () => {
    const { receiver, webhook } = await hookedReceiver();
    const queued = await send('POST', `/namespaces/${ns}/webhooks/${webhook.webhookId}/test`);
    expect(queued.status).toBe(202);
    const [got] = await receiver.waitFor(1);
    expect(got!.headers['webhook-id']).toBe(queued.body.eventId);
    expect(got!.headers['content-type']).toBe('application/json');
    expect(eventOf(got!)).toEqual({ type: 'webhook.test', timestamp: expect.any(String), data: { namespace: ns, webhookId: webhook.webhookId } });
    // The check can fail: another secret, or a body changed by a byte, does not verify.
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(got!.body, got!.headers)).toThrow(/signature/i);
    expect(() => new Webhook(webhook.secret).verify(got!.body.replace('webhook.test', 'webhook.tesT'), got!.headers)).toThrow(/signature/i);
    const [delivery] = await eventually(() => deliveriesOf(webhook.webhookId), (d) => d[0]?.status === 'succeeded');
    expect(delivery).toMatchObject({ eventId: queued.body.eventId, eventType: 'webhook.test', status: 'succeeded', attemptCount: 1, nextAttemptAt: null });
    expect(delivery!.attempts).toEqual([{ attempt: 1, attemptedAt: expect.any(String), durationMs: expect.any(Number), responseStatus: 200, error: null }]);
    expect(delivery!.payload).toEqual(JSON.parse(got!.body));
  });

  it('reports a connection’s status changes, once per change, to the webhooks that want them', async () => {
    const { receiver: all } = await hookedReceiver();
    const { receiver: deletions } = await hookedReceiver({ events: ['connection.deleted'] });
    const created = await send('POST', `/${ns}`, { mcpUrl: upstream.url, name: 'fixture', metadata: { userId: 'alice' } });
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
    for (let i = 0; i < 3; i++) expect((await send('POST', `/${ns}/${id}/.tools/echo`, { message: 'hi' })).status).toBe(502);
    const [, failed] = await all.waitFor(2, forThis);
    const failure = eventOf(failed!).data as { status: { state: string; message: string }; previousStatus: unknown };
    expect(failure.status).toEqual({ state: 'error', message: expect.stringMatching(/127\.0\.0\.1/) });
    expect(failure.previousStatus).toEqual({ state: 'connected' });

    await upstream.restart();
    expect((await send('POST', `/${ns}/${id}/.tools/echo`, { message: 'back' })).status).toBe(200);
    await all.waitFor(3, forThis);
    expect((await send('DELETE', `/${ns}/${id}`)).status).toBe(200);
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

  it('retries a receiver that answers 500 twice: three attempts, one event id, spaced by the backoff', async () => {
    const { receiver, webhook } = await hookedReceiver();
    receiver.answerNext(500, 500);
    const { eventId } = (await send('POST', `/namespaces/${ns}/webhooks/${webhook.webhookId}/test`)).body;
    const got = await receiver.waitFor(3);
    expect(got.map((r) => [r.headers['webhook-id'], r.answered, r.verified.ok])).toEqual([
      [eventId, 500, true],
      [eventId, 500, true],
      [eventId, 200, true],
    ]);
    const [delivery] = await eventually(() => deliveriesOf(webhook.webhookId), (d) => d[0]?.status === 'succeeded');
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

  it('records every attempt at an unreachable receiver, and gives up after WEBHOOK_MAX_ATTEMPTS', async () => {
    const port = await freePort();
    const created = await send('POST', `/namespaces/${ns}/webhooks`, { url: `http://127.0.0.1:${port}/hook` });
    secrets.push(created.body.secret);
    const { eventId } = (await send('POST', `/namespaces/${ns}/webhooks/${created.body.webhookId}/test`)).body;
    const [delivery] = await eventually(() => deliveriesOf(created.body.webhookId), (d) => d[0]?.status === 'failed');
    expect(delivery).toMatchObject({ eventId, status: 'failed', attemptCount: MAX_ATTEMPTS, nextAttemptAt: null });
    expect(delivery!.attempts).toHaveLength(MAX_ATTEMPTS);
    for (const attempt of delivery!.attempts) {
      expect(attempt).toMatchObject({ responseStatus: null, error: expect.stringMatching(/Connection refused by 127\.0\.0\.1/) });
    }
  });

  it('pages through deliveries, newest first', async () => {
    const { receiver, webhook } = await hookedReceiver();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await send('POST', `/namespaces/${ns}/webhooks/${webhook.webhookId}/test`)).body.eventId);
    await receiver.waitFor(3);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { deliveries: Delivery[]; nextCursor: string | null } } = await send(
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
      receivers.push(receiver);
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
      expect(delivery!.attempts[0]!.error).toMatch(/blocked \((loopback|private|unique-local)\) address; set ALLOWED_UPSTREAM_HOSTS/);
      expect(receiver.received).toEqual([]);
    } finally {
      await strict.close();
    }
  });
});

describe('removal', () => {
  it('deleting a webhook removes it and its deliveries, with an audit event', async () => {
    const { webhook } = await hookedReceiver();
    await send('POST', `/namespaces/${ns}/webhooks/${webhook.webhookId}/test`);
    expect(await send('DELETE', `/namespaces/${ns}/webhooks/${webhook.webhookId}`)).toMatchObject({ status: 200, body: { success: true } });
    expect((await send('GET', `/namespaces/${ns}/webhooks/${webhook.webhookId}`)).status).toBe(404);
    expect((await send('DELETE', `/namespaces/${ns}/webhooks/${webhook.webhookId}`)).status).toBe(404);
    expect(await server.db.selectFrom('webhook_deliveries').select('event_id').where('webhook_id', '=', webhook.webhookId).execute()).toEqual([]);
    const audit = await send('GET', '/audit-events?type=webhook.deleted');
    expect(audit.body.events[0]).toMatchObject({ namespace: ns, actor: { type: 'api_key' }, details: { webhookId: webhook.webhookId } });
  });

  it('deleting a namespace deletes its webhooks', async () => {
    const doomed = (await send('POST', '/namespaces')).body.name as string;
    await hookedReceiver({}, doomed);
    expect((await send('DELETE', `/namespaces/${doomed}`)).status).toBe(200);
    expect(await server.db.selectFrom('webhooks').select('id').where('namespace', '=', doomed).execute()).toEqual([]);
  });

  it('no signing secret was ever logged, sent to a receiver, or stored in plaintext', async () => {
    expect(secrets.length).toBeGreaterThan(5);
    const logs = server.rawLogs.join('');
    const sentToReceivers = receivers.flatMap((r) => r.received.map((got) => JSON.stringify(got.headers) + got.body)).join('');
    const stored = JSON.stringify(await server.db.selectFrom('webhooks').selectAll().execute());
    expect(stored).toContain('sb1.');
    for (const secret of secrets) {
      for (const haystack of [logs, sentToReceivers, stored]) expect(haystack).not.toContain(secret.slice(6));
    }
  });
});
