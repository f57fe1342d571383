import { hash, timingSafeEqual } from 'node:crypto';
import type { Db } from '../../db/open.ts';
import { accountExists, insertAccount } from '../../db/queries/accounts.ts';
import { findApiKeyCredentials, insertApiKey, listApiKeys, revokeApiKey } from '../../db/queries/api-keys.ts';
import { notifyChange } from '../../db/queries/changes.ts';
import { revokeTokensOfApiKey } from '../../db/queries/service-tokens.ts';
import { AppError } from '../../errors.ts';
import type { AuditActor } from '../audit/audit-event-types.ts';
import { recordAuditEvent } from '../audit/record-audit-event.ts';
import { createBoundedCache, type CacheStats } from '../cache/bounded-cache.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import { newAccountId, randomBase32 } from '../ids.ts';

/**
 * API keys look like `sk_<id>_<secret>`: the id finds the row, the secret (256 bits) is
 * checked against its SHA-256, in constant time. The key itself is shown once, at creation.
 */
const API_KEY_PATTERN = /^sk_([a-z2-7]{16})_([a-z2-7]{52})$/;

export type AccountPrincipal = { kind: 'account'; accountId: string; apiKeyId: string };

export type ApiKeyVerification =
  | { ok: true; principal: AccountPrincipal }
  | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' };

export function looksLikeApiKey(bearer: string): boolean {
  return bearer.startsWith('sk_');
}

type StoredKey = { id: string; accountId: string; secretHash: Uint8Array; revoked: boolean };

export type ApiKeyVerifier = {
  verify(presented: string): Promise<ApiKeyVerification>;
  /** As `verify`, from this process's memory only: undefined when that would take a database read. */
  verifyCached(presented: string): ApiKeyVerification | undefined;
  readonly cacheStats: CacheStats;
};

/**
 * Ids no key has, remembered briefly: a client retrying a deleted or mistyped key costs one
 * query per id, not one per request. Creating a key announces its id, which clears the entry.
 */
const UNKNOWN_IDS = { maxEntries: 10_000, maxAgeMs: 30_000 };

/**
 * Verifies keys against their stored hashes. Rows are cached (hash included, never the key),
 * so a request in steady state reads no database; a revocation anywhere invalidates the
 * entry everywhere through the change feed.
 */
export function createApiKeyVerifier(db: Db, changes: ChangeFeed): ApiKeyVerifier {
  const cache = createBoundedCache<string, StoredKey>({ maxEntries: 10_000, maxAgeMs: 5 * 60_000 });
  const unknownIds = createBoundedCache<string, true>(UNKNOWN_IDS);
  changes.subscribe({
    onChange: (change) => {
      if (change.kind !== 'api_key') return;
      cache.delete(change.id);
      unknownIds.delete(change.id);
    },
    onReset: () => {
      cache.clear();
      unknownIds.clear();
    },
  });
  const load = async (id: string): Promise<StoredKey | undefined> => {
    // Checked again here: concurrent requests for one id share this load (see getOrLoad).
    if (unknownIds.get(id)) return undefined;
    const row = await findApiKeyCredentials(db, id);
    if (!row) {
      unknownIds.set(id, true);
      return undefined;
    }
    return { id: row.id, accountId: row.account_id, secretHash: row.secret_hash, revoked: row.revoked_at !== null };
  };
  return {
    cacheStats: cache.stats,
    async verify(presented) {
      const match = API_KEY_PATTERN.exec(presented);
      if (!match) return { ok: false, reason: 'malformed' };
      const [, id, secret] = match as unknown as [string, string, string];
      return check(await cache.getOrLoad(id, () => load(id)), secret);
    },
    verifyCached(presented) {
      const match = API_KEY_PATTERN.exec(presented);
      if (!match) return { ok: false, reason: 'malformed' };
      const [, id, secret] = match as unknown as [string, string, string];
      const stored = cache.get(id);
      if (stored) return check(stored, secret);
      return unknownIds.get(id) ? { ok: false, reason: 'unknown' } : undefined;
    },
  };
}

function check(stored: StoredKey | undefined, secret: string): ApiKeyVerification {
  const presentedHash = hashSecret(secret);
  if (!stored || !timingSafeEqual(presentedHash, stored.secretHash)) return { ok: false, reason: 'unknown' };
  if (stored.revoked) return { ok: false, reason: 'revoked' };
  return { ok: true, principal: { kind: 'account', accountId: stored.accountId, apiKeyId: stored.id } };
}

export type CreatedApiKey = {
  id: string;
  key: string;
  name: string;
  accountId: string;
  createdAt: string;
};

/** Creates a key for an existing account, or a new account named after the key; `actor` is who asked (the audit log says). */
export async function createApiKey(
  db: Db,
  input: { name: string; accountId?: string },
  actor: AuditActor,
): Promise<CreatedApiKey> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100) {
    throw new AppError('validation_error', 'The key name must be 1 to 100 characters');
  }
  const id = randomBase32(10);
  const secret = randomBase32(32);
  const row = await db.transaction().execute(async (tx) => {
    let accountId = input.accountId;
    if (accountId) {
      if (!(await accountExists(tx, accountId))) throw new AppError('not_found', `No account with id ${accountId}`);
    } else {
      accountId = (await insertAccount(tx, { id: newAccountId(), name })).id;
    }
    const inserted = await insertApiKey(tx, { id, accountId, name, secretHash: hashSecret(secret) });
    await recordAuditEvent(tx, {
      type: 'api_key.created',
      accountId,
      actor,
      details: { apiKeyId: id, name, newAccount: input.accountId === undefined },
    });
    // An id some client already tried (and this or another process remembers as unknown) works from now on.
    await notifyChange(tx, { kind: 'api_key', id });
    return inserted;
  });
  return { id: row.id, key: `sk_${id}_${secret}`, name: row.name, accountId: row.account_id, createdAt: row.created_at.toISOString() };
}

export type ApiKeySummary = { id: string; name: string; accountId: string; createdAt: string; revokedAt: string | null };

export async function listAccountApiKeys(db: Db, filter: { accountId?: string } = {}): Promise<ApiKeySummary[]> {
  const rows = await listApiKeys(db, filter);
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    accountId: row.account_id,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
  }));
}

/** Revokes a key and the tokens minted with it; every running process forgets them at once (it may be another process). */
export async function revokeAccountApiKey(db: Db, id: string, actor: AuditActor): Promise<void> {
  const tokensRevoked = await db.transaction().execute(async (tx) => {
    const revoked = await revokeApiKey(tx, id);
    if (!revoked) throw new AppError('not_found', `No API key with id ${id}`);
    // Tokens minted with the key go with it (and everything minted or narrowed from them).
    const tokens = await revokeTokensOfApiKey(tx, id);
    if (revoked.newlyRevoked) {
      await recordAuditEvent(tx, { type: 'api_key.revoked', accountId: revoked.accountId, actor, details: { apiKeyId: id, tokensRevoked: tokens } });
    }
    return tokens;
  });
  await notifyChange(db, { kind: 'api_key', id });
  if (tokensRevoked > 0) await notifyChange(db, { kind: 'revocations_changed' });
}

function hashSecret(secret: string): Buffer {
  return hash('sha256', secret, 'buffer');
}
