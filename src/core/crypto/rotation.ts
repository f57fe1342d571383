import type { Db } from '../../db/open.ts';
import { countSealedUnder, findValuesNotSealedUnder, replaceSealedValue, type SealedColumn } from '../../db/queries/sealed-values.ts';
import { contextOf as credentialsContext } from '../connections/credentials.ts';
import { FLOW_CONTEXT } from '../oauth/authorization-flow.ts';
import { CONTEXT as OAUTH_CLIENT_CONTEXT } from '../oauth/oauth-clients.ts';
import { contextOf as oauthStateContext } from '../oauth/oauth-state.ts';
import { secretContextOf as webhookSecretContext } from '../webhooks/webhook-signing.ts';
import type { Keyring } from './keyring.ts';
import { upstreamSessionContextOf } from '../upstream/client-session-records.ts';

/**
 * Everything the keyring seals, with the context each value was bound to. A new sealed
 * column must be listed here, or a rotation leaves it under the old key (the rotation test
 * checks every `sb1.` value in a database dump).
 */
type SealedField = SealedColumn & { contextOf(key: readonly unknown[]): string };

const ref = (key: readonly unknown[]) => ({ namespace: String(key[0]), id: String(key[1]) });

export const sealedFields: readonly SealedField[] = [
  { table: 'connections', column: 'credentials', key: ['namespace', 'id'], keyIdColumn: 'credentials_key_id', contextOf: (k) => credentialsContext(ref(k)) },
  { table: 'connections', column: 'oauth', key: ['namespace', 'id'], contextOf: (k) => oauthStateContext(ref(k)) },
  { table: 'oauth_clients', column: 'client', key: ['id'], contextOf: () => OAUTH_CLIENT_CONTEXT },
  { table: 'oauth_flows', column: 'flow', key: ['state_hash'], contextOf: () => FLOW_CONTEXT },
  { table: 'webhooks', column: 'secret', key: ['id'], contextOf: (k) => webhookSecretContext(String(k[0])) },
  { table: 'client_sessions', column: 'upstream_session', key: ['id_hash'], contextOf: (k) => upstreamSessionContextOf(String(k[0])) },
];

export type RotationCount = {
  table: string;
  column: string;
  /** Re-sealed under the current key by this run. */
  resealed: number;
  /** Already under the current key when the run started. */
  alreadyCurrent: number;
  /** Rewritten by someone else (a running server) between our read and our write: left as they wrote it. */
  changedConcurrently: number;
  /** Sealed with a key this keyring does not have, or damaged: left alone. */
  unreadable: number;
};

export type RotationOptions = {
  batchSize?: number;
  /** Runs after each batch is read and before it is written (tests use it to race a write). */
  afterRead?: (field: SealedColumn, batch: readonly { key: unknown[] }[]) => Promise<void>;
};

/**
 * Re-seals every stored secret under the keyring's current key, in batches, while servers
 * keep running: each row is replaced only if it still holds what was read (compare-and-set),
 * and the plaintext never changes, so caches and concurrent readers are unaffected. Servers
 * must already hold the new secret (current) and the old ones (previous) before this runs.
 * Idempotent: a second run finds nothing to do.
 */
export async function rotateSealedValues(db: Db, keyring: Keyring, options: RotationOptions = {}): Promise<RotationCount[]> {
  const batchSize = options.batchSize ?? 500;
  const counts: RotationCount[] = [];
  for (const field of sealedFields) {
    const count: RotationCount = {
      table: field.table,
      column: field.column,
      resealed: 0,
      alreadyCurrent: await countSealedUnder(db, field, keyring.currentKeyId),
      changedConcurrently: 0,
      unreadable: 0,
    };
    let after: unknown[] | undefined;
    for (;;) {
      const batch = await findValuesNotSealedUnder(db, field, { keyId: keyring.currentKeyId, after, limit: batchSize });
      if (batch.length === 0) break;
      await options.afterRead?.(field, batch);
      for (const value of batch) {
        const context = field.contextOf(value.key);
        const opened = keyring.open(value.sealed, context);
        if (!opened.ok) {
          count.unreadable++;
          continue;
        }
        const sealed = keyring.seal(opened.plaintext, context);
        const replaced = await replaceSealedValue(db, field, value.key, value.sealed, { sealed, keyId: keyring.currentKeyId });
        if (replaced) count.resealed++;
        else count.changedConcurrently++;
      }
      after = batch.at(-1)!.key;
      if (batch.length < batchSize) break;
    }
    counts.push(count);
  }
  return counts;
}
