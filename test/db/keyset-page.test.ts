import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type OpenDatabase } from '../../src/db/open.ts';
import { pastPosition, type PagePosition } from '../../src/db/queries/keyset-page.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * The keyset clause every paged list uses, on the real database: walking a list a page at a
 * time, in either order, yields each row once, also where several rows share an instant.
 */

let database: TestDatabase;
let opened: OpenDatabase;
let db: Kysely<{ page_probe: { happened_at: Date; key: string } }>;

// Three rows share the first instant and two the last: only the id tells them apart.
const rows = [
  ['2026-01-01T00:00:00Z', 'b'],
  ['2026-01-01T00:00:00Z', 'a'],
  ['2026-01-01T00:00:00Z', 'c'],
  ['2026-01-02T00:00:00Z', 'd'],
  ['2026-01-03T00:00:00Z', 'f'],
  ['2026-01-03T00:00:00Z', 'e'],
] as const;

beforeAll(async () => {
  database = await createTestDatabase();
  opened = await openDb(database.target);
  db = opened.db as unknown as typeof db;
  await sql`create table page_probe (happened_at timestamptz not null, key text not null)`.execute(db);
  await db.insertInto('page_probe').values(rows.map(([at, key]) => ({ happened_at: new Date(at), key }))).execute();
}, 60_000);

afterAll(async () => {
  await opened?.close();
  await database?.drop();
});

async function walk(order: 'asc' | 'desc', pageSize: number): Promise<string[]> {
  const seen: string[] = [];
  let position: PagePosition | undefined;
  for (;;) {
    const from = position;
    const page = await db
      .selectFrom('page_probe')
      .select(['happened_at', 'key'])
      .$if(from !== undefined, (query) => query.where(() => pastPosition({ time: 'happened_at', id: 'key' }, order, from!)))
      .orderBy('happened_at', order)
      .orderBy('key', order)
      .limit(pageSize)
      .execute();
    seen.push(...page.map((row) => row.key));
    const last = page.at(-1);
    if (page.length < pageSize || !last) return seen;
    position = { at: last.happened_at, id: last.key };
  }
}

describe('keyset pages', () => {
  it.each([1, 2, 4])('oldest first, %i a page: every row once, in order', async (pageSize) => {
    expect(await walk('asc', pageSize)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it.each([1, 2, 4])('newest first, %i a page: every row once, in order', async (pageSize) => {
    expect(await walk('desc', pageSize)).toEqual(['f', 'e', 'd', 'c', 'b', 'a']);
  });
});
