import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueEvent } from '../../src/core/webhooks/webhook-events.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';
import { startReceiver, type Receiver } from './webhook-receiver.ts';

/**
 * Two replicas on one PostgreSQL, each running its delivery worker: a burst of events in the
 * outbox is sent by both at once (claims skip what the other holds), and every event reaches
 * the receiver exactly once, on its first attempt.
 */
const EVENTS = 150;

describe.skipIf(testDatabaseKind !== 'postgres')('webhook deliveries across replicas', () => {
  let first: TestServer;
  let second: TestServer;
  let upstream: Upstream;
  let receiver: Receiver;
  let key: string;
  let ns: string;
  let webhookId: string;

  beforeAll(async () => {
    [first, upstream, receiver] = await Promise.all([startTestServer(), startFixtureUpstream('sessions'), startReceiver({ delayMs: 10 })]);
    second = await startTestServer({}, { replicaOf: first });
    key = (await first.newAccount('replicas')).key;
    const post = (server: TestServer, pathname: string, body?: unknown) =>
      server.request(pathname, { method: 'POST', bearer: key, ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) }).then((r) => r.json() as Promise<any>);
    ns = (await post(first, '/namespaces')).name;
    const created = await post(second, `/namespaces/${ns}/webhooks`, { url: receiver.url });
    webhookId = created.webhookId;
    receiver.secret = created.secret;
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
    await upstream?.stop();
    await receiver?.close();
  });

  it('sends each event once, both replicas taking part', async () => {
    // A burst committed at once (as many status changes would), then a connection change that
    // wakes both workers (the first directly, the second through NOTIFY).
    const ids = await first.db.transaction().execute(async (tx) => {
      const written: string[] = [];
      for (let i = 0; i < EVENTS; i++) written.push(await enqueueEvent(tx, ns, 'webhook.test', { namespace: ns, webhookId, n: i }, webhookId));
      return written;
    });
    const created = await first.request(`/${ns}`, { method: 'POST', bearer: key, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mcpUrl: upstream.url }) });
    expect(created.status).toBe(201);

    const received = await receiver.waitFor(EVENTS + 1, () => true, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const byId = new Map<string, number>();
    for (const r of receiver.received) {
      expect(r.verified.ok).toBe(true);
      byId.set(r.headers['webhook-id']!, (byId.get(r.headers['webhook-id']!) ?? 0) + 1);
    }
    expect(received.length).toBe(EVENTS + 1);
    expect(byId.size).toBe(EVENTS + 1);
    expect([...byId.values()].every((count) => count === 1)).toBe(true);
    for (const id of ids) expect(byId.get(id)).toBe(1);

    const rows = await first.db.selectFrom('webhook_deliveries').select(['status', 'attempt_count']).where('webhook_id', '=', webhookId).execute();
    expect(rows).toHaveLength(EVENTS + 1);
    expect(rows.every((row) => row.status === 'succeeded' && row.attempt_count === 1)).toBe(true);
    const deliveredBy = [first, second].map((server) => server.logs.filter((line) => line.msg === 'webhook delivered').length);
    console.log(`webhooks across replicas: ${EVENTS + 1} events, delivered ${deliveredBy.join(' + ')} by the two replicas, each exactly once`);
    expect(deliveredBy[0]! + deliveredBy[1]!).toBe(EVENTS + 1);
    expect(Math.min(...deliveredBy)).toBeGreaterThan(0);
  });
});
