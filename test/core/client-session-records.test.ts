import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring } from '../../src/core/crypto/keyring.ts';
import { createClientSessionRecords, hashSessionId, type StoredClientSession } from '../../src/core/upstream/client-session-records.ts';
import { migrateToLatest, openDb, type OpenDatabase } from '../../src/db/open.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * The records of clients' own sessions that let every replica serve them (client-session-records.ts),
 * on the real database: the upstream session id sealed and bound to its row, the session id
 * itself never stored, use stamped in batches, abandoned rows pruned.
 */

let database: TestDatabase;
let opened: OpenDatabase;
const keyring = createKeyring(['records-test-secret-records-test-secret']);

const stored: StoredClientSession = {
  caller: 'key:abc',
  namespace: 'ns',
  connectionId: 'conn',
  incarnation: 'inc-1',
  revision: 3,
  upstreamSessionId: 'upstream-session-credential-7f3a',
  protocolVersion: '2025-11-25',
};
// Never started: every flush in these tests is the one close() makes.
const records = () => createClientSessionRecords({ db: opened.db, keyring, touchEveryMs: 3_600_000 });
const age = (id: string, seconds: number) =>
  sql`update client_sessions set last_used_at = now() - (${seconds}::integer * interval '1 second') where id_hash = ${hashSessionId(id)}`.execute(opened.db);

beforeAll(async () => {
  database = await createTestDatabase();
  opened = await openDb(database.target);
  await migrateToLatest(opened.db);
}, 60_000);

afterAll(async () => {
  await opened?.close();
  await database?.drop();
});

describe('client session records', () => {
  it('store the upstream session id sealed and the session id only as a hash; find opens them again', async () => {
    const store = records();
    const id = 'aaaaaaaaaaaa.session-one-session-one-session-one-0';
    await store.save(id, stored);
    expect(await store.find(id)).toEqual(stored);
    expect(await store.find('aaaaaaaaaaaa.another')).toBeUndefined();
    const { rows } = await sql`select * from client_sessions`.execute(opened.db);
    const table = JSON.stringify(rows);
    expect(table).not.toContain(stored.upstreamSessionId);
    expect(table).not.toContain(id);
    expect(table).toContain(`sb1.${keyring.currentKeyId}.`);
    await store.close();
  });

  it('a sealed value moved to another row does not open there', async () => {
    const store = records();
    const [first, second] = ['bbbbbbbbbbbb.first', 'bbbbbbbbbbbb.second'];
    await store.save(first, stored);
    await store.save(second, { ...stored, upstreamSessionId: 'other-upstream-session' });
    await sql`update client_sessions set upstream_session = (select upstream_session from client_sessions where id_hash = ${hashSessionId(first)}) where id_hash = ${hashSessionId(second)}`.execute(opened.db);
    expect(await store.find(second)).toBeUndefined();
    expect((await store.find(first))?.upstreamSessionId).toBe(stored.upstreamSessionId);
    await store.close();
  });

  it('remove deletes once: a second replica ending the same session learns it was gone', async () => {
    const store = records();
    const id = 'cccccccccccc.removed';
    await store.save(id, stored);
    expect(await store.remove(id)).toBe(true);
    expect(await store.remove(id)).toBe(false);
    expect(await store.find(id)).toBeUndefined();
    await store.close();
  });

  it('stamps use in batches (held sessions every batch), tells which sessions were used lately, and prunes the abandoned', async () => {
    const writer = records();
    const [used, held, idle, abandoned] = ['dddddddddddd.used', 'dddddddddddd.held', 'dddddddddddd.idle', 'dddddddddddd.abandoned'];
    for (const id of [used, held, idle, abandoned]) {
      await writer.save(id, stored);
      await age(id, 600);
    }
    await age(abandoned, 7_200);
    const reader = records();
    expect(await reader.usedWithin([used, held, idle], 60_000)).toEqual(new Set());

    writer.used(used);
    const release = writer.hold(held);
    await writer.close();
    expect(await reader.usedWithin([used, held, idle], 60_000)).toEqual(new Set([used, held]));
    release();

    await reader.pruneAbandoned(3_600_000);
    expect(await reader.find(abandoned)).toBeUndefined();
    expect(await reader.find(idle)).toBeDefined();
    await reader.close();
  });
});
