import type { StoredOAuthClientInformation } from '@modelcontextprotocol/client';
import type { Db } from '../../db/open.ts';
import {
  deleteConfiguredOAuthClient,
  deleteRegisteredOAuthClient,
  findOAuthClientsForIssuer,
  listConfiguredOAuthClients,
  upsertOAuthClient,
} from '../../db/queries/oauth.ts';
import { AppError } from '../../errors.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { randomBase32 } from '../ids.ts';
import { isStorableText } from '../storable-text.ts';

/**
 * The OAuth clients Switchboard presents to authorization servers. For an issuer, in order:
 * one the account configured, one the operator configured (for every account), one the
 * account registered dynamically before and reused. A dynamic registration belongs to one
 * account: an authorization server remembers consent per client, so a client shared by
 * accounts would let one tenant ride on the consent an end user gave another's app.
 * Secrets are sealed and never shown again.
 */
export const CONTEXT = 'oauth-client';

export type OAuthClientSummary = {
  id: string;
  issuer: string;
  clientId: string;
  hasSecret: boolean;
  tokenEndpointAuthMethod: string | null;
  scope: string | null;
  /** null: the operator's, used for every account. */
  accountId: string | null;
  createdAt: string;
};

export type OAuthClientConfig = {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post' | 'none';
  scope?: string;
};

/**
 * The client to present to an issuer. With `clientId`, exactly that one (tokens are refreshed
 * and revoked by the client they were issued to, whatever was configured since); a Client ID
 * Metadata Document client is its URL and needs no row.
 */
export async function findClientForIssuer(
  db: Db,
  keyring: Keyring,
  q: { accountId: string; issuer: string; redirectUri: string; clientId?: string },
): Promise<StoredOAuthClientInformation | undefined> {
  return (await findClientRecord(db, keyring, q))?.client;
}

export type ClientRecord = { client: StoredOAuthClientInformation; kind: 'configured' | 'registered' | 'metadata-document' };

/** As findClientForIssuer, saying where the client came from (only a registration of ours may ever be forgotten). */
export async function findClientRecord(
  db: Db,
  keyring: Keyring,
  q: { accountId: string; issuer: string; redirectUri: string; clientId?: string },
): Promise<ClientRecord | undefined> {
  if (q.clientId && /^https:\/\/.+\/oauth\/client-metadata\.json$/.test(q.clientId)) {
    return { client: { client_id: q.clientId }, kind: 'metadata-document' };
  }
  const rows = await findOAuthClientsForIssuer(db, q);
  const rank = (row: (typeof rows)[number]) => (row.kind === 'configured' ? (row.account_id ? 0 : 1) : 2);
  for (const row of rows.sort((a, b) => rank(a) - rank(b))) {
    if (q.clientId !== undefined && row.client_id !== q.clientId) continue;
    const opened = keyring.open(row.client, CONTEXT);
    if (!opened.ok) continue;
    const client = JSON.parse(opened.plaintext) as StoredOAuthClientInformation & { redirect_uris?: string[] };
    // A registration for another callback (PUBLIC_URL changed) is of no use: register anew.
    if (q.clientId === undefined && row.kind === 'registered' && !client.redirect_uris?.includes(q.redirectUri)) continue;
    return { client, kind: row.kind };
  }
  return undefined;
}

/** Remembers a client registered dynamically with an issuer, for the account's connections to it. */
export async function saveRegisteredClient(db: Db, keyring: Keyring, accountId: string, issuer: string, client: StoredOAuthClientInformation): Promise<void> {
  await upsertOAuthClient(db, {
    id: newOAuthClientId(),
    accountId,
    issuer,
    kind: 'registered',
    clientId: client.client_id,
    sealed: keyring.seal(JSON.stringify(client), CONTEXT),
  });
}

/**
 * The issuer refused a client we registered (invalid_client): forget that registration, so
 * the next flow registers anew. Configured clients, and other registrations, are kept.
 */
export async function forgetRegisteredClient(db: Db, accountId: string, issuer: string, clientId: string): Promise<void> {
  await deleteRegisteredOAuthClient(db, { accountId, issuer, clientId });
}

export async function configureOAuthClient(
  db: Db,
  keyring: Keyring,
  accountId: string | null,
  config: OAuthClientConfig,
): Promise<OAuthClientSummary> {
  const issuer = checkIssuer(config.issuer);
  // The client id is a column of its own (PostgreSQL text holds no NUL).
  if (!isStorableText(config.clientId)) throw new AppError('validation_error', 'clientId must not contain NUL characters or unpaired surrogates');
  const method = config.tokenEndpointAuthMethod ?? (config.clientSecret ? 'client_secret_basic' : 'none');
  if (method !== 'none' && !config.clientSecret) {
    throw new AppError('validation_error', `tokenEndpointAuthMethod ${method} needs a clientSecret`);
  }
  const client: StoredOAuthClientInformation & { token_endpoint_auth_method: string; scope?: string } = {
    client_id: config.clientId,
    ...(config.clientSecret ? { client_secret: config.clientSecret } : {}),
    token_endpoint_auth_method: method,
    ...(config.scope ? { scope: config.scope } : {}),
    issuer,
  };
  await upsertOAuthClient(db, {
    id: newOAuthClientId(),
    accountId,
    issuer,
    kind: 'configured',
    clientId: config.clientId,
    sealed: keyring.seal(JSON.stringify(client), CONTEXT),
  });
  const listed = await listOAuthClients(db, keyring, accountId);
  return listed.find((summary) => summary.issuer === issuer)!;
}

export async function listOAuthClients(db: Db, keyring: Keyring, accountId: string | null): Promise<OAuthClientSummary[]> {
  const rows = await listConfiguredOAuthClients(db, accountId);
  return rows.map((row) => {
    const opened = keyring.open(row.client, CONTEXT);
    const client = opened.ok ? (JSON.parse(opened.plaintext) as { client_secret?: string; token_endpoint_auth_method?: string; scope?: string }) : {};
    return {
      id: row.id,
      issuer: row.issuer,
      clientId: row.client_id,
      hasSecret: Boolean(client.client_secret),
      tokenEndpointAuthMethod: client.token_endpoint_auth_method ?? null,
      scope: client.scope ?? null,
      accountId: row.account_id,
      createdAt: row.created_at.toISOString(),
    };
  });
}

export async function removeOAuthClient(db: Db, accountId: string | null, id: string): Promise<{ success: true }> {
  if (!(await deleteConfiguredOAuthClient(db, { id, accountId }))) throw new AppError('not_found', `No OAuth client with id ${id}`);
  return { success: true };
}

function checkIssuer(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('validation_error', 'issuer must be the authorization server’s issuer URL, e.g. https://auth.example.com');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AppError('validation_error', 'issuer must be an http(s) URL');
  // Stored and compared as given: it must be text PostgreSQL holds as it is.
  if (!isStorableText(raw)) throw new AppError('validation_error', 'issuer must not contain NUL characters or unpaired surrogates');
  // Issuers compare as exact strings (RFC 8414): keep what was given, minus nothing.
  return raw;
}

function newOAuthClientId(): string {
  return `oac_${randomBase32(10)}`;
}
