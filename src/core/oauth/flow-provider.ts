import type {
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  OAuthTokens,
  StoredOAuthClientInformation,
} from '@modelcontextprotocol/client';
import type { Db } from '../../db/open.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { findClientForIssuer, forgetRegisteredClient, saveRegisteredClient } from './oauth-clients.ts';

/**
 * One authorization of one connection, as the MCP SDK's OAuth client sees it. The SDK does
 * discovery, registration, PKCE, the authorization URL and the code exchange; this provider
 * keeps what it hands over — in the flow (persisted by the caller between the two legs) and,
 * for clients, in the database, per issuer.
 */
export type FlowState = {
  /** The `state` parameter of this authorization (sent, never stored: only its hash is). */
  state: string;
  verifier?: string;
  discovery?: OAuthDiscoveryState;
  scope?: string;
  /** Where the SDK would send the user: captured, the caller redirects. */
  authorizationUrl?: URL;
  /** What the code exchange produced, and from which issuer. */
  tokens?: OAuthTokens;
  issuer?: string;
};

export type FlowProviderDeps = {
  db: Db;
  keyring: Keyring;
  /** The account the connection belongs to: its own configured clients come first. */
  accountId: string;
  /** PUBLIC_URL/oauth/callback. */
  redirectUrl: string;
  /** PUBLIC_URL/oauth/client-metadata.json when PUBLIC_URL is https (a Client ID Metadata Document must be). */
  clientMetadataUrl?: string;
};

export function clientMetadataFor(redirectUrl: string, clientMetadataUrl?: string): OAuthClientMetadata {
  return {
    ...(clientMetadataUrl ? { client_id: clientMetadataUrl } : {}),
    client_name: 'Switchboard',
    redirect_uris: [redirectUrl],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  } as OAuthClientMetadata;
}

export function createFlowProvider(deps: FlowProviderDeps, flow: FlowState): OAuthClientProvider {
  let pendingClient: StoredOAuthClientInformation | undefined;
  return {
    get redirectUrl() {
      return deps.redirectUrl;
    },
    ...(deps.clientMetadataUrl ? { clientMetadataUrl: deps.clientMetadataUrl } : {}),
    get clientMetadata() {
      return clientMetadataFor(deps.redirectUrl, deps.clientMetadataUrl);
    },
    state: () => flow.state,
    async clientInformation(ctx) {
      if (!ctx?.issuer) return pendingClient;
      return (await findClientForIssuer(deps.db, deps.keyring, { accountId: deps.accountId, issuer: ctx.issuer, redirectUri: deps.redirectUrl })) ?? pendingClient;
    },
    async saveClientInformation(client, ctx) {
      pendingClient = client;
      const issuer = ctx?.issuer ?? client.issuer;
      // A Client ID Metadata Document needs no storing: its URL is the client id.
      if (issuer && client.client_id !== deps.clientMetadataUrl) await saveRegisteredClient(deps.db, deps.keyring, issuer, client);
    },
    tokens: () => undefined,
    saveTokens(tokens, ctx) {
      flow.tokens = tokens;
      flow.issuer = ctx?.issuer ?? (tokens as { issuer?: string }).issuer ?? flow.issuer;
    },
    redirectToAuthorization(url) {
      flow.authorizationUrl = url;
    },
    saveCodeVerifier(verifier) {
      flow.verifier = verifier;
    },
    codeVerifier() {
      if (!flow.verifier) throw new Error('This authorization has no PKCE verifier');
      return flow.verifier;
    },
    saveDiscoveryState(discovery) {
      flow.discovery = discovery;
    },
    discoveryState: () => flow.discovery,
    async invalidateCredentials(scope) {
      if (scope === 'all' || scope === 'client') {
        pendingClient = undefined;
        const issuer = flow.discovery?.authorizationServerMetadata?.issuer;
        if (issuer) await forgetRegisteredClient(deps.db, issuer);
      }
      if (scope === 'all' || scope === 'discovery') flow.discovery = undefined;
      if (scope === 'all' || scope === 'verifier') flow.verifier = undefined;
    },
  };
}
