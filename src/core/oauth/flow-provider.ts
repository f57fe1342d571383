import type {
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  OAuthTokens,
  StoredOAuthClientInformation,
} from '@modelcontextprotocol/client';
import type { Db } from '../../db/open.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { findClientRecord, forgetRegisteredClient, saveRegisteredClient, type ClientRecord } from './oauth-clients.ts';

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
  /** The client presented: refreshes and revocations must use the same one. */
  clientId?: string;
};

export type FlowProviderDeps = {
  db: Db;
  keyring: Keyring;
  /** The account the connection belongs to: its own configured clients come first; registrations are its own. */
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
  let clientKind: ClientRecord['kind'] | undefined;
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
      // On the callback leg, the client the authorization was started with, and no other.
      const found = ctx?.issuer
        ? await findClientRecord(deps.db, deps.keyring, { accountId: deps.accountId, issuer: ctx.issuer, redirectUri: deps.redirectUrl, clientId: flow.clientId })
        : undefined;
      if (found) {
        clientKind = found.kind;
        flow.clientId = found.client.client_id;
        return found.client;
      }
      if (pendingClient) flow.clientId = pendingClient.client_id;
      return pendingClient;
    },
    async saveClientInformation(client, ctx) {
      pendingClient = client;
      clientKind = 'registered';
      flow.clientId = client.client_id;
      const issuer = ctx?.issuer ?? client.issuer;
      // A Client ID Metadata Document needs no storing: its URL is the client id.
      if (issuer && client.client_id !== deps.clientMetadataUrl) await saveRegisteredClient(deps.db, deps.keyring, deps.accountId, issuer, client);
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
        // Only a registration of ours is forgotten; a configured client stays, whoever's it is.
        if (issuer && flow.clientId && clientKind === 'registered') await forgetRegisteredClient(deps.db, deps.accountId, issuer, flow.clientId);
        flow.clientId = undefined;
      }
      if (scope === 'all' || scope === 'discovery') flow.discovery = undefined;
      if (scope === 'all' || scope === 'verifier') flow.verifier = undefined;
    },
  };
}
