import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Configuration drift: replicas sharing a database record a digest of their security-relevant
 * settings; one that differs from a live other is logged at error level (setting names, never
 * values) and shown by /health, which stays `status: "ok"` for the clients that check it.
 */

type Health = { status: string; timestamp: string; configDrift?: { settings: string[]; replicas: number } };

async function health(server: TestServer): Promise<Health> {
  const response = await server.request('/health');
  expect(response.status).toBe(200);
  return (await response.json()) as Health;
}

/** Cross-process notice is asynchronous: poll generously, never assert on a fixed sleep. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within 20 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const driftLines = (server: TestServer) => server.logs.filter((line) => line.level === 50 && String(line.msg).startsWith('configuration drift'));

describe('a single server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ ALLOWED_UPSTREAM_HOSTS: 'internal-only.example:8443' });
  });
  afterAll(() => server?.close());

  it('records its settings as digests, reports no drift, and /health keeps its contract', async () => {
    const body = await health(server);
    expect(Object.keys(body).sort()).toEqual(['status', 'timestamp']);
    expect(body.status).toBe('ok');
    const rows = await server.db.selectFrom('replica_settings').selectAll().execute();
    expect(rows).toHaveLength(1);
    const settings = rows[0]!.settings;
    expect(Object.keys(settings)).toEqual(expect.arrayContaining(['ALLOWED_UPSTREAM_HOSTS', 'CORS_ORIGINS', 'OAUTH_RETURN_ORIGINS', 'PUBLIC_URL', 'SWITCHBOARD_SECRET']));
    // Keyed digests; the secrets by their public key ids.
    for (const [name, digest] of Object.entries(settings)) expect(digest).toMatch(name.startsWith('SWITCHBOARD_') ? /^keyid:[0-9a-f,]*$/ : /^hmac:[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain('internal-only');
    expect(driftLines(server)).toEqual([]);
  });
});

describe.skipIf(testDatabaseKind !== 'postgres')('replicas on one PostgreSQL', () => {
  let first: TestServer;
  beforeAll(async () => {
    first = await startTestServer({ ALLOWED_UPSTREAM_HOSTS: '127.0.0.1' });
  });
  afterAll(() => first?.close());

  it('with the same settings: no drift on either', async () => {
    const same = await startTestServer({ ALLOWED_UPSTREAM_HOSTS: '127.0.0.1' }, { replicaOf: first });
    try {
      expect((await same.db.selectFrom('replica_settings').select('replica_id').execute()).length).toBe(2);
      expect((await health(same)).configDrift).toBeUndefined();
      expect((await health(first)).configDrift).toBeUndefined();
      expect([...driftLines(first), ...driftLines(same)]).toEqual([]);
    } finally {
      await same.close();
    }
  });

  it('with a different ALLOWED_UPSTREAM_HOSTS: both log an error naming the setting, not its value, and /health shows it until the odd one stops', async () => {
    const odd = await startTestServer({ ALLOWED_UPSTREAM_HOSTS: '127.0.0.1, secret-internal.example:9000' }, { replicaOf: first });
    try {
      // The newcomer compares at start; the first hears of it (NOTIFY) and compares too.
      expect(driftLines(odd)).toHaveLength(1);
      await eventually(async () => driftLines(first).length === 1, 'the first replica logs the drift');
      for (const line of [driftLines(odd)[0]!, driftLines(first)[0]!]) {
        expect(line.settings).toEqual(['ALLOWED_UPSTREAM_HOSTS']);
        expect(JSON.stringify(line)).not.toContain('secret-internal');
      }
      const expected = { settings: ['ALLOWED_UPSTREAM_HOSTS'], replicas: 1 };
      expect(await health(odd)).toMatchObject({ status: 'ok', configDrift: expected });
      expect(await health(first)).toMatchObject({ status: 'ok', configDrift: expected });
    } finally {
      await odd.close();
    }
    // The odd one said goodbye: the first compares again and the drift ends.
    await eventually(async () => (await health(first)).configDrift === undefined, 'the drift ends on the first replica');
    expect(first.logs.some((line) => line.msg === 'configuration drift ended: every live replica has the same security-relevant settings')).toBe(true);
    expect(driftLines(first)).toHaveLength(1);
  });
});
