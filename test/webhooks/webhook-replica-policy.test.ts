import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startReceiver, type Receiver } from './webhook-receiver.ts';

/**
 * Replicas with different ALLOWED_UPSTREAM_HOSTS on one database (configuration drift, which
 * they report): a delivery is judged by the egress policy of the replica that sends it, at
 * the moment it connects — never waved through because another replica accepted the URL when
 * the webhook was registered. Here the receiver is on loopback, allowed (on its port alone) by
 * one replica and not by the other; one attempt per event, so each event is one replica's.
 */
const BLOCKED = 'The receiver address 127.0.0.1 is a blocked (loopback) address; set ALLOWED_UPSTREAM_HOSTS to allow it';

describe.skipIf(testDatabaseKind !== 'postgres')('webhook deliveries under each replica’s own egress policy', () => {
  const retry = { WEBHOOK_RETRY_BASE_MS: '10', WEBHOOK_MAX_ATTEMPTS: '1' };
  let strict: TestServer;
  let open: TestServer | undefined;
  let receiver: Receiver;
  let key: string;
  let ns: string;
  let webhookId: string;

  const post = (server: TestServer, pathname: string, body?: unknown) =>
    server.request(pathname, { method: 'POST', bearer: key, ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  const logged = (server: TestServer, msg: string) => server.logs.filter((line) => line.msg === msg).map((line) => String(line.eventId));
  async function deliveries(): Promise<{ eventId: string; status: string; attempts: { error: string | null }[] }[]> {
    const rows = await strict.db.selectFrom('webhook_deliveries').select(['event_id', 'status', 'attempts']).where('webhook_id', '=', webhookId).execute();
    return rows.map((row) => ({ eventId: row.event_id, status: row.status, attempts: row.attempts as { error: string | null }[] }));
  }
  async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`not within 30 s: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    [strict, receiver] = await Promise.all([startTestServer({ ALLOWED_UPSTREAM_HOSTS: '', ...retry }), startReceiver()]);
    open = await startTestServer({ ALLOWED_UPSTREAM_HOSTS: `127.0.0.1:${new URL(receiver.url).port}`, ...retry }, { replicaOf: strict });
    key = (await strict.newAccount('policies')).key;
    ns = ((await (await post(strict, '/namespaces')).json()) as { name: string }).name;
  });
  afterAll(async () => {
    await open?.close();
    await strict?.close();
    await receiver?.close();
  });

  it('each replica judges the URL by its own policy at registration', async () => {
    const refused = await post(strict, `/namespaces/${ns}/webhooks`, { url: receiver.url });
    expect(refused.status).toBe(400);
    const created = await post(open!, `/namespaces/${ns}/webhooks`, { url: receiver.url });
    expect(created.status).toBe(201);
    ({ webhookId, secret: receiver.secret } = (await created.json()) as { webhookId: string; secret: string });
  });

  it('while both run: what the open replica sends arrives, what the strict one claims is refused before connecting', async () => {
    // Events until the open replica has delivered one (which worker claims an event is a race).
    await eventually(async () => {
      if (logged(open!, 'webhook delivered').length > 0) return true;
      expect((await post(open!, `/namespaces/${ns}/webhooks/${webhookId}/test`)).status).toBe(202);
      return false;
    }, 'the open replica delivers an event');
    await eventually(async () => (await deliveries()).every((d) => d.status !== 'pending'), 'every delivery ends');
    const all = await deliveries();
    const deliveredByOpen = logged(open!, 'webhook delivered');
    expect(logged(strict, 'webhook delivered')).toEqual([]);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(deliveredByOpen.length);
    for (const delivery of all) {
      if (deliveredByOpen.includes(delivery.eventId)) expect(delivery.status).toBe('succeeded');
      else expect(delivery).toMatchObject({ status: 'failed', attempts: [{ error: BLOCKED }] });
    }
    expect(logged(strict, 'webhook delivery failed for good').length + deliveredByOpen.length).toBe(all.length);
  });

  it('with the open replica gone, the strict one never delivers to the URL the other accepted', async () => {
    await open!.close();
    open = undefined;
    const receivedBefore = receiver.received.length;
    const eventIds: string[] = [];
    for (let i = 0; i < 3; i++) eventIds.push(((await (await post(strict, `/namespaces/${ns}/webhooks/${webhookId}/test`)).json()) as { eventId: string }).eventId);
    await eventually(async () => (await deliveries()).filter((d) => eventIds.includes(d.eventId)).every((d) => d.status === 'failed'), 'the strict replica fails them');
    for (const delivery of (await deliveries()).filter((d) => eventIds.includes(d.eventId))) expect(delivery.attempts).toEqual([expect.objectContaining({ error: BLOCKED })]);
    expect(receiver.received.length).toBe(receivedBefore);
  });
});
