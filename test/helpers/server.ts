import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/schema.ts';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config.ts';
import { createApiKey, revokeAccountApiKey } from '../../src/core/accounts/api-keys.ts';
import { CLI_ACTOR } from '../../src/core/audit/audit-event-types.ts';
import { openDb } from '../../src/db/open.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { findLeaks, findServiceTokenLeaks, watchedSecrets } from './canary.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

/** Taps every socket of the server: all bytes it writes, headers included. */
function recordEverythingSent(server: http.Server): string[] {
  const sent: string[] = [];
  server.on('connection', (socket) => {
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      sent.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('latin1'));
      return write(chunk, ...rest);
    }) as typeof socket.write;
  });
  return sent;
}

/**
 * Runs every request of `server` inside `handling`, so a query can tell whether a request sent
 * it or background work did (replica heartbeats, the webhook outbox, cache reloads after a
 * change announced by another server on the same database).
 */
function markRequestWork(server: http.Server, handling: AsyncLocalStorage<true>): void {
  const listeners = server.listeners('request') as ((...args: unknown[]) => void)[];
  server.removeAllListeners('request');
  server.on('request', (...args: unknown[]) => handling.run(true, () => listeners.forEach((listener) => listener.apply(server, args))));
}

export type TestServer = RunningServer & {
  /** Every log line the server wrote, as parsed JSON. */
  logs: Record<string, unknown>[];
  rawLogs: string[];
  /** Queries sent to the database so far, by requests and background work alike. */
  readonly queryCount: number;
  /**
   * Queries sent while handling HTTP requests (the request hot path should add none). Background
   * work is left out: on a shared PostgreSQL it runs whenever another test's server announces a change.
   */
  readonly requestQueryCount: number;
  /** The server's own database, for tests that must reach past the API (e.g. to age a row). */
  db: Kysely<Database>;
  /** The PostgreSQL database's URL (for pg_dump and the like); undefined on PGlite. */
  databaseUrl?: string;
  /** Creates an account with one API key; returns the key and its ids. */
  newAccount(name?: string): Promise<{ key: string; keyId: string; accountId: string }>;
  addKey(accountId: string): Promise<{ key: string; keyId: string }>;
  revokeKey(keyId: string): Promise<void>;
  /** fetch against the server with an optional bearer. */
  request(pathname: string, init?: RequestInit & { bearer?: string }): Promise<Response>;
};

/** A request as `bearer`, with `body` (when given) sent as JSON. */
export function requestAs(server: Pick<TestServer, 'request'>, bearer: string, pathname: string, method: string, body?: unknown): Promise<Response> {
  return server.request(pathname, {
    method,
    bearer,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
}

/** What a second process on the same database needs to share it. */
type Shared = { database: TestDatabase; secret: string };
const sharedBy = new WeakMap<TestServer, Shared>();

/**
 * A real server on a loopback port, over a fresh database, logging into memory. With
 * `replicaOf`, a second server on the first one's database and master secret, as another
 * replica would be (PostgreSQL only: PGlite belongs to one process).
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: { replicaOf?: TestServer; /** The shared database reached at this URL instead (e.g. through a relay). */ databaseUrl?: string } = {},
): Promise<TestServer> {
  const shared = options.replicaOf ? sharedBy.get(options.replicaOf) : undefined;
  if (options.replicaOf && (!shared || shared.database.target.kind !== 'postgres')) {
    throw new Error('replicas share a PostgreSQL database: run with TEST_DATABASE_URL');
  }
  const database = shared?.database ?? (await createTestDatabase());
  const secret = shared?.secret ?? randomBytes(32).toString('base64url');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-test-'));
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    SWITCHBOARD_SECRET: secret,
    LOG_LEVEL: 'info',
    // Test upstreams listen on loopback, which production refuses (SSRF); a test may narrow this.
    ALLOWED_UPSTREAM_HOSTS: '127.0.0.1,localhost,::1',
    // Every test talks from 127.0.0.1 and many send bad credentials on purpose; the tests of
    // the failed-authentication limit set their own.
    AUTH_FAILURES_PER_MINUTE: '0',
    ...env,
  });
  const rawLogs: string[] = [];
  const logger = createLogger(config, { write: (line: string) => void rawLogs.push(line) });
  let queryCount = 0;
  let requestQueryCount = 0;
  const handling = new AsyncLocalStorage<true>();
  const target = options.databaseUrl && database.target.kind === 'postgres' ? { ...database.target, url: options.databaseUrl } : database.target;
  const opened = await openDb(target, {
    onQuery: () => {
      queryCount++;
      if (handling.getStore()) requestQueryCount++;
    },
  });
  const server = await startServer(config, logger, opened);
  const db = opened.db;
  const sent = recordEverythingSent(server.httpServer);
  markRequestWork(server.httpServer, handling);
  const apiKeys: string[] = [];
  const testServer: TestServer = {
    ...server,
    db,
    databaseUrl: database.url,
    rawLogs,
    get queryCount() {
      return queryCount;
    },
    get requestQueryCount() {
      return requestQueryCount;
    },
    get logs() {
      return rawLogs.flatMap((line) => line.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
    },
    async newAccount(name = 'test') {
      const created = await createApiKey(db, { name }, CLI_ACTOR);
      apiKeys.push(created.key);
      return { key: created.key, keyId: created.id, accountId: created.accountId };
    },
    async addKey(accountId) {
      const created = await createApiKey(db, { name: 'extra', accountId }, CLI_ACTOR);
      apiKeys.push(created.key);
      return { key: created.key, keyId: created.id };
    },
    revokeKey: (keyId) => revokeAccountApiKey(db, keyId, CLI_ACTOR),
    request(pathname, init = {}) {
      const { bearer, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (bearer) headers.set('authorization', `Bearer ${bearer}`);
      return fetch(`${server.url}${pathname}`, { ...rest, headers });
    },
    async close() {
      // Which service tokens this database minted: each may be sent once, in its minting answer.
      const minted = await db
        .selectFrom('service_tokens')
        .select('id')
        .execute()
        .then((rows) => new Set(rows.map((row) => row.id)))
        .catch(() => null);
      await server.close();
      if (!shared) await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      // Planted credentials, API keys, OAuth tokens and codes must never leave in an answer or a
      // log line; service tokens only in the answer that minted them.
      const [everythingSent, everythingLogged] = [sent.join(''), rawLogs.join('')];
      const leaks = [
        ...findLeaks(`${everythingSent}\n${everythingLogged}`, [...apiKeys, ...(await watchedSecrets())]),
        ...findServiceTokenLeaks(everythingSent, everythingLogged, minted),
      ];
      if (leaks.length > 0) throw new Error(`A secret left the server:\n${leaks.join('\n---\n')}`);
    },
  };
  sharedBy.set(testServer, { database, secret });
  return testServer;
}
