import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, sql, type LogEvent, type Transaction } from 'kysely';
import { Migrator } from 'kysely/migration';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import { migrations } from '../../db/migrations/index.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { assertPostgresDriverPatched } from './postgres-driver-check.ts';
import { observingQueries, type QueryObserver } from './query-observer.ts';
import { listenResiliently } from './resilient-listen.ts';
import { databaseAddress, reportingUnavailability } from './connection-loss.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database> | Transaction<Database>;

export type DatabaseTarget =
  | Readonly<{ kind: 'postgres'; url: string; poolSize: number }>
  | Readonly<{ kind: 'pglite'; dataDir: string }>
  /**
   * In-memory PGlite, for tests and throwaway runs; from `snapshot` (a `dumpDataDir()` of a
   * database made earlier) when given, which skips creating the cluster (seconds of initdb).
   */
  | Readonly<{ kind: 'memory'; snapshot?: Blob }>;

export type OpenDatabase = {
  db: Kysely<Database>;
  kind: DatabaseTarget['kind'];
  /**
   * Subscribes to NOTIFY messages on `channel`. `onConnected` runs whenever the listening
   * connection is (re)established: anything missed while it was down is unknowable, so
   * subscribers treat it as "everything may have changed".
   */
  listen(channel: string, onMessage: (payload: string) => void, onConnected?: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
  /** Reports this database's connections and queries to `observer` (metrics), or to no one. */
  observeQueries(observer: QueryObserver | undefined): void;
  /** Connections the pool may open (PGlite: its one in-process connection). */
  poolSize: number;
};

export type OpenDbOptions = {
  /** Called for every query sent (tests count them: the request hot path should send none). */
  onQuery?: () => void;
};

export async function openDb(target: DatabaseTarget, options: OpenDbOptions = {}): Promise<OpenDatabase> {
  const log = options.onQuery
    ? (event: LogEvent) => {
        if (event.level === 'query') options.onQuery!();
      }
    : undefined;
  if (target.kind === 'postgres') {
    assertPostgresDriverPatched();
    const client = postgres(target.url, {
      max: target.poolSize,
      onnotice: () => {},
      connect_timeout: 10,
      // postgres.js waits up to 20 s between attempts after failures (3^n/100 s), and queued
      // requests wait with it: while the server restarts they would hang, and recovery lag by
      // as long. Try again within a second instead, so requests fail (503) or succeed promptly.
      backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 1),
      // Kysely parses nothing itself: keep bigint counts as strings and dates as Date.
      types: { bigint: postgres.BigInt },
      // Statements are prepared; a generic plan cannot know that one metadata filter matches a
      // single row and another a million, and picked full namespace scans. Plan each execution.
      connection: { plan_cache_mode: 'force_custom_plan' },
    });
    // A lost connection surfaces as DatabaseUnavailableError (503 at the edge); postgres.js
    // connects anew on the next query, so the service recovers once the server is back.
    const observed = observingQueries(reportingUnavailability(new PostgresJSDialect({ postgres: client }), databaseAddress(target.url)));
    const db = new Kysely<Database>({ dialect: observed.dialect, log });
    return {
      db,
      kind: 'postgres',
      observeQueries: observed.observe,
      poolSize: target.poolSize,
      listen: (channel, onMessage, onConnected) => listenResiliently(client, channel, onMessage, onConnected),
      close: async () => {
        // A bounded end first: postgres.js waits forever for a reserved connection that was
        // never handed back, which would hang a graceful shutdown after heavy load.
        await client.end({ timeout: 5 });
        await db.destroy();
      },
    };
  }
  // Loaded only when used: the embedded database's module weighs ~45 MB of memory a
  // PostgreSQL deployment has no use for.
  const { PGlite: EmbeddedPostgres } = await import('@electric-sql/pglite');
  // PostgreSQL's default 128 MB of shared buffers lives in the process here; a laptop-sized
  // database is served as well from 16 MB and the file cache (~135 MB less resident memory).
  const pgliteOptions = { startParams: [...EmbeddedPostgres.defaultStartParams, '-c', 'shared_buffers=16MB'] };
  if (target.kind === 'memory') {
    const pglite = new EmbeddedPostgres({ ...pgliteOptions, ...(target.snapshot ? { loadDataDir: target.snapshot } : {}) });
    const observed = observingQueries(new PGliteDialect({ pglite }));
    const db = new Kysely<Database>({ dialect: observed.dialect, log });
    return { db, kind: 'memory', listen: pgliteListener(pglite), close: () => db.destroy(), observeQueries: observed.observe, poolSize: 1 };
  }
  const lock = lockDataDir(target.dataDir);
  try {
    const pglite = new EmbeddedPostgres(path.join(target.dataDir, 'pglite'), pgliteOptions);
    await pglite.waitReady;
    const observed = observingQueries(new PGliteDialect({ pglite }));
    const db = new Kysely<Database>({ dialect: observed.dialect, log });
    return {
      db,
      kind: 'pglite',
      observeQueries: observed.observe,
      poolSize: 1,
      listen: pgliteListener(pglite),
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

/** PGlite is one connection in this process: it never drops, so `onConnected` runs once. */
function pgliteListener(pglite: PGlite): OpenDatabase['listen'] {
  return async (channel, onMessage, onConnected) => {
    const unlisten = await pglite.listen(channel, onMessage);
    onConnected?.();
    return () => unlisten();
  };
}

/**
 * Brings the schema to the latest migration. Safe to run from several replicas at once.
 * Returns the names of the migrations this call applied (none: it was up to date).
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    // No migration failed when the database could not be reached at all: say that, not a blank name.
    throw new Error(failed ? `Database migration ${failed} failed: ${reason}` : `Could not migrate the database: ${reason}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export async function pingDb(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
