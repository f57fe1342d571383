import type { AuthProvider } from '@modelcontextprotocol/client';
import { createBoundedCache } from '../cache/bounded-cache.ts';
import type { ConnectionRecord } from '../connections/connection-store.ts';
import { AuthorizationRequiredError } from '../oauth/oauth-state.ts';
import type { OAuthTokenKeeper } from '../oauth/oauth-tokens.ts';

/**
 * How one connection's OAuth bearer is attached and refreshed, for every request Switchboard
 * sends its upstream: the SDK transport takes it as its AuthProvider (`token`, `onUnauthorized`),
 * the raw forwarder and the GET relay call `token` and `refreshAfter`. A connection without
 * OAuth tokens gets no bearer.
 */
export type BearerPolicy = AuthProvider & {
  /**
   * The bearer to send now (the latest stored, refreshed first when about to expire), if the
   * connection uses OAuth. `current`: the connection as the caller just read it, saving a lookup.
   */
  token(current?: ConnectionRecord): Promise<string | undefined>;
  /**
   * The upstream refused `rejected` (401): a working token, from the one refresh that this or
   * another process makes (oauth-tokens.ts). AuthorizationRequiredError when there is none to
   * be had: the end user must authorize again.
   */
  refreshAfter(rejected: string | undefined): Promise<string>;
};

export type BearerPolicies = {
  /** The policy of the connection as it stands (one object per incarnation and revision). */
  for(connection: ConnectionRecord): BearerPolicy;
};

export type BearerPolicyOptions = {
  oauth: Pick<OAuthTokenKeeper, 'bearerFor' | 'refreshAfterRejection'>;
  /** The connection as it stands now: tokens change without a new revision. */
  latest(connection: ConnectionRecord): Promise<ConnectionRecord | undefined>;
};

export function createBearerPolicies(options: BearerPolicyOptions): BearerPolicies {
  // Bounded like the pool's own bookkeeping; a policy dropped here is made again on next use
  // (it holds nothing that must last: the tokens live in the database).
  const policies = createBoundedCache<string, BearerPolicy>({ maxEntries: 10_000, maxAgeMs: 60 * 60_000 });
  return {
    for(connection) {
      const key = `${connection.incarnation} ${connection.revision}`;
      let policy = policies.get(key);
      if (!policy) {
        policy = bearerPolicyOf(connection, options);
        policies.set(key, policy);
      }
      return policy;
    },
  };
}

function bearerPolicyOf(connection: ConnectionRecord, options: BearerPolicyOptions): BearerPolicy {
  // The last token handed out: what the SDK's onUnauthorized (which names none) says was refused.
  let given: string | undefined;
  const refreshAfter = async (rejected: string | undefined) => {
    if (!rejected) throw new AuthorizationRequiredError('The upstream requires authorization');
    return options.oauth.refreshAfterRejection(connection, rejected);
  };
  return {
    async token(current?: ConnectionRecord) {
      given = await options.oauth.bearerFor(current ?? (await options.latest(connection)) ?? connection);
      return given;
    },
    refreshAfter,
    async onUnauthorized() {
      await refreshAfter(given);
    },
  };
}
