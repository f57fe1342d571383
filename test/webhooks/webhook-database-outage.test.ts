import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPostgresBinaries, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.ts';
import { eventually, startSwitchboardProcess, type SwitchboardProcess } from '../helpers/switchboard-process.ts';
import { startReceiver, type Receiver } from './webhook-receiver.ts';

/**
 * A retry falls due while PostgreSQL is down (crashed): the delivery worker neither crashes the
 * process nor loses the event; once the database is back, the retry goes out and is recorded.
 * The server is this test's own (the shared one serves other tests meanwhile).
 */
const bin = findPostgresBinaries();
const skip = !process.env.TEST_DATABASE_URL || !bin;

describe.skipIf(skip)('webhook deliveries through a PostgreSQL outage', () => {
  let pg: PrivatePostgres;
  let receiver: Receiver;
  let server: SwitchboardProcess;

  beforeAll(async () => {
    [pg, receiver] = await Promise.all([startPrivatePostgres(bin!), startReceiver()]);
    server = await startSwitchboardProcess({
      DATABASE_URL: pg.url,
      SWITCHBOARD_SECRET: randomBytes(32).toString('base64url'),
      DATABASE_POOL_SIZE: '5',
      WEBHOOK_RETRY_BASE_MS: '1000',
    });
  });
  afterAll(async () => {
    await Promise.allSettled([server?.close()]);
    await Promise.allSettled([receiver?.close(), pg?.destroy()]);
  });

  it('retries once the database is back; the process stays up meanwhile', async () => {
    const ns = ((await (await server.request('/namespaces', { method: 'POST' })).json()) as { name: string }).name;
    const created = (await (await server.request(`/namespaces/${ns}/webhooks`, { method: 'POST', body: { url: receiver.url } })).json()) as { webhookId: string; secret: string };
    receiver.secret = created.secret;
    receiver.answerNext(500);
    const deliveries = `/namespaces/${ns}/webhooks/${created.webhookId}/deliveries`;
    const { eventId } = (await (await server.request(`/namespaces/${ns}/webhooks/${created.webhookId}/test`, { method: 'POST' })).json()) as { eventId: string };
    // The first attempt failed and is recorded: the retry is due about a second later.
    await eventually('the first attempt recorded', async () => {
      const body = (await (await server.request(deliveries)).json()) as { deliveries: { attemptCount: number }[] };
      return body.deliveries[0]?.attemptCount === 1 ? true : undefined;
    });
    await pg.stop('immediate');
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(server.process.child.exitCode).toBeNull();
    expect((await server.request(deliveries)).status).toBe(503);
    expect(receiver.received).toHaveLength(1);

    await pg.start();
    const [, retried] = await receiver.waitFor(2, () => true, 30_000);
    expect(retried!.headers['webhook-id']).toBe(eventId);
    expect(retried!.verified.ok).toBe(true);
    const recorded = await eventually('the retry recorded', async () => {
      const body = (await (await server.request(deliveries)).json()) as { deliveries: { status: string; attemptCount: number }[] };
      return body.deliveries[0]?.status === 'succeeded' ? body.deliveries[0] : undefined;
    });
    expect(recorded.attemptCount).toBe(2);
    expect(server.process.child.exitCode).toBeNull();
    const output = server.process.output();
    expect(output).toContain('webhook deliveries paused: the database did not answer');
    expect(output).toContain('webhook deliveries resumed');
  });
});
