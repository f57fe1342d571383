import type { FetchLike, StoredOAuthClientInformation } from '@modelcontextprotocol/client';
import type { Db } from '../../db/open.ts';
import type { Logger } from '../../logger.ts';
import type { ConnectionRef } from '../connections/credentials.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Egress } from '../network/guarded-dispatcher.ts';
import { authorizationServerFetch, callbackUrl } from './authorization-flow.ts';
import { findClientForIssuer } from './oauth-clients.ts';
import { openOAuthState, type OAuthState } from './oauth-state.ts';

/**
 * RFC 7009: when a connection is deleted, its tokens are revoked at the authorization server
 * if it offers revocation, the refresh token first (which ends the grant on most servers).
 * Best effort: the deletion never waits on it or fails because of it.
 */
export async function revokeAtIssuer(
  state: OAuthState,
  client: StoredOAuthClientInformation | undefined,
  options: { fetch: FetchLike },
): Promise<number> {
  const endpoint = (state.discovery?.authorizationServerMetadata as { revocation_endpoint?: string } | undefined)?.revocation_endpoint;
  if (!endpoint || !client || !state.tokens) return 0;
  const tokens: [string, string][] = [];
  if (state.tokens.refreshToken) tokens.push([state.tokens.refreshToken, 'refresh_token']);
  tokens.push([state.tokens.accessToken, 'access_token']);
  let revoked = 0;
  for (const [token, hint] of tokens) {
    const body = new URLSearchParams({ token, token_type_hint: hint });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    const method = (client as { token_endpoint_auth_method?: string }).token_endpoint_auth_method;
    if (client.client_secret && method !== 'client_secret_post') {
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
    } else {
      body.set('client_id', client.client_id);
      if (client.client_secret) body.set('client_secret', client.client_secret);
    }
    const response = await options.fetch(endpoint, { method: 'POST', headers, body, redirect: 'error' });
    await response.body?.cancel();
    if (response.ok) revoked++;
  }
  return revoked;
}

/** After a connection is deleted: revoke what it held, in the background, logging the outcome (never a token). */
export function revokeDeletedConnectionTokens(
  deps: { db: Db; keyring: Keyring; logger: Logger; egress: Pick<Egress, 'fetch'>; config: { publicUrl: string; upstreamTimeoutMs: number } },
  ref: ConnectionRef,
  held: { oauth: string | null; account_id: string },
): void {
  const state = openOAuthState(deps.keyring, ref, held.oauth);
  if (!state.tokens || !state.issuer) return;
  const issuer = state.issuer;
  findClientForIssuer(deps.db, deps.keyring, {
    accountId: held.account_id,
    issuer,
    redirectUri: callbackUrl(deps.config.publicUrl),
    clientId: state.clientId,
  })
    .then((client) => revokeAtIssuer(state, client, { fetch: authorizationServerFetch(deps) }))
    .then(
      (revoked) => deps.logger.info({ connection: `${ref.namespace}/${ref.id}`, issuer, revoked }, 'revoked the deleted connection’s tokens'),
      (error: unknown) => deps.logger.warn({ connection: `${ref.namespace}/${ref.id}`, issuer, err: { message: (error as Error).message } }, 'could not revoke tokens'),
    );
}
