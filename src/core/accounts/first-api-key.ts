import fs from 'node:fs/promises';
import path from 'node:path';
import { SYSTEM_ACTOR } from '../audit/audit-event-types.ts';
import { anyApiKeyExists } from '../../db/queries/api-keys.ts';
import type { Db } from '../../db/open.ts';
import { createApiKey } from './api-keys.ts';

export const FIRST_API_KEY_FILE = 'first-api-key';

/**
 * On a laptop's first start nobody has a key yet, and the embedded database is locked by the
 * running service, so `switchboard api-keys create` would mean stopping it again. When no key
 * was ever made, make one and leave it in a file only the owner can read, next to the master
 * key (never in a log line). Returns the file's path, or undefined when keys already exist.
 */
export async function ensureFirstApiKey(db: Db, dataDir: string): Promise<string | undefined> {
  if (await anyApiKeyExists(db)) return undefined;
  const created = await createApiKey(db, { name: 'first-start' }, SYSTEM_ACTOR);
  const file = path.resolve(dataDir, FIRST_API_KEY_FILE);
  // 'wx': never overwrite a file someone else put there; the key is then only in the database.
  await fs.writeFile(file, `${created.key}\n`, { mode: 0o600, flag: 'wx' });
  return file;
}
