import type { AuthProvider } from '@modelcontextprotocol/client';
import type { ChangeFeed } from '../changes/change-feed.ts';
import { connectionKey, type ConnectionRecord } from '../connections/connection-store.ts';
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

/**
 * Sends with the connection's bearer and, when the upstream refuses it (`refused`), once more
 * with the token of the one refresh. The refusal stands when there is nothing to refresh (no
 * bearer was sent, or the end user must authorize again): the caller records that. Every raw
 * request to an upstream goes through here; the SDK transport does the same through
 * `onUnauthorized`.
 */
export async function sendWithBearer<T>(
  policy: BearerPolicy,
  connection: ConnectionRecord,
  send: (token: string | undefined) => Promise<T>,
  refusal: { refused(answer: T): boolean; discard(answer: T): void },
): Promise<T> {
  const token = await policy.token(connection);
  const answer = await send(token);
  if (!token || !refusal.refused(answer)) return answer;
  let fresh: string;
  try {
    fresh = await policy.refreshAfter(token);
  } catch (error) {
    if (error instanceof AuthorizationRequiredError) return answer;
    throw error;
  }
  refusal.discard(answer);
  return send(fresh);
}

export type BearerPolicies = {
  /** The policy of the connection as it stands (one object per incarnation and revision). */
  for(connection: ConnectionRecord): BearerPolicy;
};

export type BearerPolicyOptions = {
  oauth: Pick<OAuthTokenKeeper, 'bearerFor' | 'refreshAfterRejection'>;
  /** The connection as it stands now: tokens change without a new revision. */
  latest(connection: ConnectionRecord): Promise<ConnectionRecord | undefined>;
  /** Connection changes and deletions: a policy goes with the revision it was made for. */
  changes: Pick<ChangeFeed, 'subscribe'>;
};

export function createBearerPolicies(options: BearerPolicyOptions): BearerPolicies {
  // One per connection, for its incarnation and revision as last asked; it holds nothing that
  // must last (the tokens live in the database), so a policy dropped is simply made again.
  const policies = new Map<string, { incarnation: string; revision: number; policy: BearerPolicy }>();
  options.changes.subscribe({
    onChange(change) {
      if (change.kind === 'connection') {
        // A deletion announces no revision; a status or token update keeps it.
        if (policies.get(connectionKey(change))?.revision !== change.revision) policies.delete(connectionKey(change));
      } else if (change.kind === 'namespace') {
        for (const key of [...policies.keys()]) if (key.startsWith(`${change.name}/`)) policies.delete(key);
      }
    },
    onReset: () => policies.clear(),
  });
  return {
    for(connection) {
      const key = connectionKey(connection);
      const held = policies.get(key);
      if (held && held.incarnation === connection.incarnation && held.revision === connection.revision) return held.policy;
      const policy = bearerPolicyOf(connection, options);
      policies.set(key, { incarnation: connection.incarnation, revision: connection.revision, policy });
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
