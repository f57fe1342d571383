import type { Db } from '../../db/open.ts';
import { listLiveRevocations } from '../../db/queries/service-tokens.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';

/**
 * The token ids revoked before they expired, held in memory so that verifying a token reads
 * no database. Loaded at start; a revocation anywhere arrives through the change feed within
 * milliseconds, and the whole list is reloaded whenever notifications may have been missed.
 */
export type RevocationList = { isRevoked(ids: readonly string[]): boolean };

export async function loadRevocationList(db: Db, changes: ChangeFeed): Promise<RevocationList> {
  let revoked = new Set(await listLiveRevocations(db));
  const reload = () => {
    // Keep refusing what we know of while the fresh list loads.
    listLiveRevocations(db).then(
      (ids) => (revoked = new Set([...revoked, ...ids])),
      () => {},
    );
  };
  changes.subscribe({
    onChange(change) {
      if (change.kind === 'token_revoked') revoked.add(change.id);
      else if (change.kind === 'revocations_changed') reload();
    },
    onReset: reload,
  });
  return { isRevoked: (ids) => ids.some((id) => revoked.has(id)) };
}
