import { OAuthError, refreshAuthorization } from '@modelcontextprotocol/client';
import type { Db } from '../../db/open.ts';
import { findConnectionOAuth, storeConnectionChallenge, storeConnectionOAuth } from '../../db/queries/oauth.ts';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import { connectionKey, type ConnectionRecord } from '../connections/connection-store.ts';
import type { ConnectionRef } from '../connections/credentials.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Egress } from '../network/guarded-dispatcher.ts';
import { authorizationServerFetch, callbackUrl, describeOAuthError } from './authorization-flow.ts';
import { findClientForIssuer } from './oauth-clients.ts';
import { recordAuditEventInBackground } from '../audit/record-audit-event.ts';
import { recordConnectionStatusWithEvent } from '../webhooks/webhook-events.ts';
import type { AuditEventDetails } from '../audit/audit-event-types.ts';
import { oauthErrorCode, refreshedEvent, refreshFailedEvent } from './oauth-audit.ts';
import { AuthorizationRequiredError, isExpiringSoon, openOAuthState, sealOAuthState, toTokenSet, type OAuthChallenge, type OAuthState } from './oauth-state.ts';

export { AuthorizationRequiredError };

/** Errors after which a refresh token will never work again: the user must authorize anew. */
const PERMANENT_REFRESH_ERRORS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'invalid_scope']);

export type OAuthTokenServices = {
  db: Db;
  keyring: Keyring;
  changes: ChangeFeed;
  logger: Logger;
  config: { publicUrl: string; upstreamTimeoutMs: number };
  /** Refreshes go out through it: only to allowed addresses. */
  egress: Pick<Egress, 'fetch'>;
  /**
   * PostgreSQL: refreshes take a row lock, so that across every process exactly one refresh
   * per connection runs at a time. PGlite serves one process, where an in-process lock suffices.
   */
  crossProcessLocks: boolean;
  /** Hears refreshes and their failures (metrics). */
  observer?: OAuthRefreshObserver;
};

export type OAuthRefreshObserver = {
  refreshed(): void;
  /** `reason`: refused, no_refresh_token, client_gone (the user must authorize again) or unreachable (tried again later). */
  refreshFailed(reason: 'refused' | 'no_refresh_token' | 'client_gone' | 'unreachable'): void;
};

export type OAuthTokenKeeper = {
  /** The bearer to send for this connection now (refreshed first when about to expire), if it uses OAuth. */
  bearerFor(connection: ConnectionRecord): Promise<string | undefined>;
  /** The upstream refused `rejected`: a working token, from a refresh this or another process just made or makes now. */
  refreshAfterRejection(connection: ConnectionRecord, rejected: string): Promise<string>;
  /** The upstream wants authorization (401 without usable tokens): record it, with its challenge. */
  requireAuthorization(connection: ConnectionRecord, challenge: OAuthChallenge | undefined): Promise<void>;
  /** The upstream wants a wider scope (403 insufficient_scope): ask for the union at the next authorization. */
  requireWiderScope(connection: ConnectionRecord, challenge: OAuthChallenge): Promise<void>;
};

export function createOAuthTokenKeeper(services: OAuthTokenServices): OAuthTokenKeeper {
  const inFlight = new Map<string, Promise<string>>();

  async function refresh(connection: ConnectionRecord, rejected: string): Promise<string> {
    // By incarnation: a connection recreated under the same id must never join the old one's refresh.
    const key = connection.incarnation;
    const running = inFlight.get(key);
    if (running) return running;
    const attempt = refreshLocked(services, connection, rejected).finally(() => inFlight.delete(key));
    inFlight.set(key, attempt);
    return attempt;
  }

  async function markAuthRequired(connection: ConnectionRecord, change: (state: OAuthState) => OAuthState, challenge?: OAuthChallenge) {
    const ref = { namespace: connection.namespace, id: connection.id, revision: connection.revision, incarnation: connection.incarnation };
    const row = await findConnectionOAuth(services.db, ref, { forUpdate: false });
    if (!row || row.revision !== connection.revision || row.incarnation !== connection.incarnation) return;
    const next = change(openOAuthState(services.keyring, ref, row.oauth));
    await storeConnectionOAuth(services.db, ref, sealOAuthState(services.keyring, ref, next));
    if (challenge) await storeConnectionChallenge(services.db, ref, challenge);
    await recordConnectionStatusWithEvent(services.db, ref, { status: { state: 'auth_required' } });
    await services.changes.announce({ kind: 'connection', namespace: ref.namespace, id: ref.id, revision: ref.revision });
  }

  return {
    async bearerFor(connection) {
      const tokens = connection.oauth.tokens;
      if (!tokens) return undefined;
      if (tokens.refreshToken && isExpiringSoon(tokens)) {
        return refresh(connection, tokens.accessToken);
      }
      return tokens.accessToken;
    },
    refreshAfterRejection: refresh,
    requireAuthorization: (connection, challenge) => markAuthRequired(connection, ({ tokens: _dropped, ...rest }) => rest, challenge),
    requireWiderScope: (connection, challenge) =>
      markAuthRequired(connection, (state) => ({ ...state, scope: unionScope(state.tokens?.scope ?? state.scope, challenge.scope) }), challenge),
  };
}

/**
 * One refresh, under a lock on the connection's row (PostgreSQL) so that processes queue: who
 * comes second finds the token the first one stored and uses it. The stored tokens are only
 * dropped when the refresh token that failed is still the current one.
 */
async function refreshLocked(services: OAuthTokenServices, connection: ConnectionRecord, rejected: string): Promise<string> {
  const ref: ConnectionRef = { namespace: connection.namespace, id: connection.id };
  // With the account and the issuer, for the audit log.
  type Audited = { accountId: string; issuer: string | undefined };
  type Outcome =
    | ({ token: string; changed: boolean } & Partial<Audited>)
    | ({ gaveUp: string; failure: Omit<AuditEventDetails<'oauth.refresh_failed'>, 'issuer'> } & Audited);
  // Giving up is returned, not thrown: what it writes must commit.
  const run = async (db: Db): Promise<Outcome> => {
    const row = await findConnectionOAuth(db, ref, { forUpdate: services.crossProcessLocks });
    // Another connection under the same id (deleted and created again) is not this one: its tokens are not ours to use.
    if (!row || row.incarnation !== connection.incarnation) throw new AuthorizationRequiredError('The connection no longer exists');
    const state = openOAuthState(services.keyring, ref, row.oauth);
    const tokens = state.tokens;
    if (!tokens) throw new AuthorizationRequiredError('The connection has no tokens');
    if (tokens.accessToken !== rejected && !isExpiringSoon(tokens)) return { token: tokens.accessToken, changed: false };
    const revisionRef = { ...ref, revision: row.revision, incarnation: row.incarnation };
    const audited = { accountId: row.account_id, issuer: state.issuer };
    const giveUp = async (reason: string, failure: Omit<AuditEventDetails<'oauth.refresh_failed'>, 'issuer'>): Promise<Outcome> => {
      const { tokens: _dropped, ...rest } = state;
      await storeConnectionOAuth(db, revisionRef, sealOAuthState(services.keyring, ref, rest));
      await recordConnectionStatusWithEvent(db, revisionRef, { status: { state: 'auth_required' } });
      return { gaveUp: reason, failure, ...audited };
    };
    if (!tokens.refreshToken || !state.discovery) {
      return giveUp('The access token expired and there is no refresh token', { reason: 'no_refresh_token', error: null });
    }
    const client = state.issuer
      ? await findClientForIssuer(db, services.keyring, {
          accountId: row.account_id,
          issuer: state.issuer,
          redirectUri: callbackUrl(services.config.publicUrl),
          clientId: state.clientId,
        })
      : undefined;
    if (!client) return giveUp('The OAuth client for this authorization server is gone', { reason: 'client_gone', error: null });
    let refreshed;
    try {
      refreshed = await refreshAuthorization(state.discovery.authorizationServerUrl, {
        metadata: state.discovery.authorizationServerMetadata,
        clientInformation: client,
        refreshToken: tokens.refreshToken,
        resource: new URL(state.discovery.resourceMetadata?.resource ?? row.mcp_url),
        fetchFn: authorizationServerFetch(services),
      });
    } catch (error) {
      if (error instanceof OAuthError && PERMANENT_REFRESH_ERRORS.has(error.code)) {
        return giveUp(`The refresh was refused: ${error.code}`, { reason: 'refused', error: oauthErrorCode(error) });
      }
      // The authorization server is down or confused: keep the tokens, try again later.
      services.observer?.refreshFailed('unreachable');
      services.logger.warn({ connection: connectionKey(ref), reason: describeOAuthError(error) }, 'could not refresh an upstream access token');
      throw new AppError('bad_gateway', `Could not refresh the upstream's access token: ${describeOAuthError(error)}`);
    }
    const next: OAuthState = { ...state, tokens: toTokenSet(refreshed, tokens) };
    if (!(await storeConnectionOAuth(db, revisionRef, sealOAuthState(services.keyring, ref, next)))) {
      throw new AuthorizationRequiredError('The connection changed during the refresh');
    }
    return { token: next.tokens!.accessToken, changed: true, ...audited };
  };
  const outcome = services.crossProcessLocks ? await services.db.transaction().execute(run) : await run(services.db);
  // The audit log is written in the background: a tool call waits for the token, not the log.
  if ('gaveUp' in outcome) {
    services.observer?.refreshFailed(outcome.failure.reason);
    recordAuditEventInBackground(services.db, services.logger, refreshFailedEvent(outcome.accountId, ref, { issuer: outcome.issuer ?? null, ...outcome.failure }));
    await services.changes.announce({ kind: 'connection', ...ref, revision: connection.revision });
    services.logger.info({ connection: connectionKey(ref) }, 'upstream authorization required again');
    throw new AuthorizationRequiredError(outcome.gaveUp);
  }
  if (outcome.changed) {
    services.observer?.refreshed();
    if (outcome.accountId) recordAuditEventInBackground(services.db, services.logger, refreshedEvent(outcome.accountId, ref, outcome.issuer));
    services.logger.info({ connection: connectionKey(ref) }, 'upstream access token refreshed');
    await services.changes.announce({ kind: 'connection', ...ref, revision: connection.revision });
  }
  return outcome.token;
}

function unionScope(current: string | undefined, wanted: string | undefined): string | undefined {
  const scopes = new Set([...(current ?? '').split(' '), ...(wanted ?? '').split(' ')].filter(Boolean));
  return scopes.size > 0 ? [...scopes].join(' ') : undefined;
}
