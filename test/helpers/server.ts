import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config.ts';
import { createApiKey, revokeAccountApiKey } from '../../src/core/accounts/api-keys.ts';
import { openDb } from '../../src/db/open.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createTestDatabase } from './database.ts';

export type TestServer = RunningServer & {
  /** Every log line the server wrote, as parsed JSON. */
  logs: Record<string, unknown>[];
  rawLogs: string[];
  /** Creates an account with one API key; returns the key and its ids. */
  newAccount(name?: string): Promise<{ key: string; keyId: string; accountId: string }>;
  addKey(accountId: string): Promise<{ key: string; keyId: string }>;
  revokeKey(keyId: string): Promise<void>;
  /** fetch against the server with an optional bearer. */
  request(pathname: string, init?: RequestInit & { bearer?: string }): Promise<Response>;
};

/** A real server on a loopback port, over a fresh database, logging into memory. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const database = await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-test-'));
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    SWITCHBOARD_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'info',
    ...env,
  });
  const rawLogs: string[] = [];
  const logger = createLogger(config, { write: (line: string) => void rawLogs.push(line) });
  const opened = await openDb(database.target);
  const server = await startServer(config, logger, opened);
  const db = opened.db;
  return {
    ...server,
    rawLogs,
    get logs() {
      return rawLogs.flatMap((line) => line.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
    },
    async newAccount(name = 'test') {
      const created = await createApiKey(db, { name });
      return { key: created.key, keyId: created.id, accountId: created.accountId };
    },
    async addKey(accountId) {
      const created = await createApiKey(db, { name: 'extra', accountId });
      return { key: created.key, keyId: created.id };
    },
    revokeKey: (keyId) => revokeAccountApiKey(db, keyId),
    request(pathname, init = {}) {
      const { bearer, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (bearer) headers.set('authorization', `Bearer ${bearer}`);
      return fetch(`${server.url}${pathname}`, { ...rest, headers });
    },
    async close() {
      await server.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
