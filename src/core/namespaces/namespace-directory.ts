import type { Db } from '../../db/open.ts';
import { findNamespace } from '../../db/queries/namespaces.ts';
import { AppError } from '../../errors.ts';
import { createBoundedCache, type CacheStats } from '../cache/bounded-cache.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import { NAMESPACE_NAME_PATTERN } from './names.ts';
import type { NamespaceOwner } from './namespaces.ts';

/**
 * Who owns which namespace, cached for the request path: every connection route checks it,
 * so it must not cost a query. A deleted namespace is forgotten everywhere via the change feed.
 */
export type NamespaceDirectory = {
  /** Resolves when `owner` owns the namespace; otherwise `not_found`, exactly as if it did not exist. */
  requireOwned(owner: NamespaceOwner, name: string): Promise<void>;
  readonly cacheStats: CacheStats;
};

export function createNamespaceDirectory(db: Db, changes: ChangeFeed): NamespaceDirectory {
  const owners = createBoundedCache<string, string>({ maxEntries: 10_000, maxAgeMs: 5 * 60_000 });
  changes.subscribe({
    onChange: (change) => change.kind === 'namespace' && owners.delete(change.name),
    onReset: () => owners.clear(),
  });
  return {
    cacheStats: owners.stats,
    async requireOwned(owner, name) {
      // A malformed name names nothing; the database must not see it (PostgreSQL refuses NUL).
      if (!NAMESPACE_NAME_PATTERN.test(name)) throw namespaceNotFound(name);
      const accountId = await owners.getOrLoad(name, async () => (await findNamespace(db, name))?.account_id);
      if (accountId !== owner.accountId) throw namespaceNotFound(name);
    },
  };
}

export function namespaceNotFound(name: string): AppError {
  return new AppError('not_found', `Namespace "${name}" not found`);
}
