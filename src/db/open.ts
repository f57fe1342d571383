import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, sql, type Transaction } from 'kysely';
import { Migrator } from 'kysely/migration';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import { migrations } from '../../db/migrations/index.ts';
import { lockDataDir } from './data-dir-lock.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database> | Transaction<Database>;

export type DatabaseTarget =
  | Readonly<{ kind: 'postgres'; url: string; poolSize: number }>
  | Readonly<{ kind: 'pglite'; dataDir: string }>
  /** In-memory PGlite, for tests and throwaway runs. */
  | Readonly<{ kind: 'memory' }>;

export type OpenDatabase = {
  db: Kysely<Database>;
  kind: DatabaseTarget['kind'];
  close(): Promise<void>;
};

export async function openDb(target: DatabaseTarget): Promise<OpenDatabase> {
  if (target.kind === 'postgres') {
    const client = postgres(target.url, {
      max: target.poolSize,
      onnotice: () => {},
      connect_timeout: 10,
      // Kysely parses nothing itself: keep bigint counts as strings and dates as Date.
      types: { bigint: postgres.BigInt },
    });
    const db = new Kysely<Database>({ dialect: new PostgresJSDialect({ postgres: client }) });
    return { db, kind: 'postgres', close: () => db.destroy() };
  }
  if (target.kind === 'memory') {
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite: new PGlite() }) });
    return { db, kind: 'memory', close: () => db.destroy() };
  }
  const lock = lockDataDir(target.dataDir);
  try {
    const pglite = new PGlite(path.join(target.dataDir, 'pglite'));
    await pglite.waitReady;
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
    return {
      db,
      kind: 'pglite',
      close: async () => {
        await db.destroy();
        lock.release();
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** Brings the schema to the latest migration. Safe to run from several replicas at once. */
export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`Database migration ${failed ?? ''} failed: ${(error as Error).message ?? String(error)}`);
  }
}

export async function pingDb(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
