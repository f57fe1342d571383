import type { Db } from '../../db/open.ts';
import { findNamespace, lockNamespaceIncarnation } from '../../db/queries/namespaces.ts';
import { AppError } from '../../errors.ts';
import { createBoundedCache, type CacheStats } from '../cache/bounded-cache.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import { NAMESPACE_NAME_PATTERN } from './names.ts';

/** Whom a namespace must belong to; namespaces.ts (creating, listing, deleting them) imports this module, not the reverse. */
export type NamespaceOwner = { accountId: string };

/**
 * One life of a namespace name: deleted and created again (perhaps by another account), the
 * name is another namespace, with another incarnation. What is cached about its connections
 * is valid only for the incarnation it was read under.
 */
export type OwnedNamespace = { name: string; incarnation: string };

/**
 * Who owns which namespace, cached for the request path: every connection route checks it,
 * so it must not cost a query. A deleted namespace is forgotten everywhere via the change feed.
 *
 * The cache may be stale for minutes when notifications are lost (a name deleted and taken by
 * another account): only the hot path, whose connection lookups are checked against the
 * incarnation it returns, may trust it. Paths that read or write a namespace's rows by name
 * (connections, webhooks, links) use `confirmOwned`, and `holdNamespace` around their writes.
 */
export type NamespaceDirectory = {
  /** The namespace when `owner` owns it (from the cache); otherwise `not_found`, exactly as if it did not exist. */
  requireOwned(owner: NamespaceOwner, name: string): Promise<OwnedNamespace>;
  /** Like `requireOwned`, but as the database has it now (a stale cache entry it contradicts goes). */
  confirmOwned(owner: NamespaceOwner, name: string): Promise<OwnedNamespace>;
  /** What is cached about `name` is outdated (a later incarnation was seen): read it anew next time. */
  forget(name: string): void;
  readonly cacheStats: CacheStats;
};

type Ownership = { accountId: string; incarnation: string };

export function createNamespaceDirectory(db: Db, changes: ChangeFeed): NamespaceDirectory {
  const owners = createBoundedCache<string, Ownership>({ maxEntries: 10_000, maxAgeMs: 5 * 60_000 });
  changes.subscribe({
    onChange: (change) => change.kind === 'namespace' && owners.delete(change.name),
    onReset: () => owners.clear(),
  });
  return {
    cacheStats: owners.stats,
    async requireOwned(owner, name) {
      // A malformed name names nothing; the database must not see it (PostgreSQL refuses NUL).
      if (!NAMESPACE_NAME_PATTERN.test(name)) throw namespaceNotFound(name);
      const ownership = await owners.getOrLoad(name, async () => {
        const row = await findNamespace(db, name);
        return row && { accountId: row.account_id, incarnation: row.incarnation };
      });
      if (ownership?.accountId !== owner.accountId) throw namespaceNotFound(name);
      return { name, incarnation: ownership.incarnation };
    },
    async confirmOwned(owner, name) {
      if (!NAMESPACE_NAME_PATTERN.test(name)) throw namespaceNotFound(name);
      const row = await findNamespace(db, name);
      const cached = owners.get(name);
      if (cached && (cached.accountId !== row?.account_id || cached.incarnation !== row?.incarnation)) owners.delete(name);
      if (!row || row.account_id !== owner.accountId) throw namespaceNotFound(name);
      return { name, incarnation: row.incarnation };
    },
    forget: (name) => owners.delete(name),
  };
}

/**
 * Inside a transaction: the namespace is still the incarnation the ownership check saw, and
 * stays so until the transaction ends (its deletion waits). Otherwise `not_found`: it was
 * deleted, and perhaps taken by another account, since the check.
 */
export async function holdNamespace(db: Db, owned: OwnedNamespace): Promise<void> {
  if (!(await lockNamespaceIncarnation(db, owned))) throw namespaceNotFound(owned.name);
}

export function namespaceNotFound(name: string): AppError {
  return new AppError('not_found', `Namespace "${name}" not found`);
}
