import type { Db } from '../../db/open.ts';
import { findConnection } from '../../db/queries/connections.ts';
import { findConnectionOAuth, supersedeAuthorizationLinks } from '../../db/queries/oauth.ts';
import { AppError } from '../../errors.ts';
import type { Access } from '../auth/access.ts';
import { parseStoredStatus } from '../connections/connection-status.ts';
import type { ConnectionRef } from '../connections/credentials.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { NamespaceDirectory } from '../namespaces/namespace-directory.ts';
import { allowsConnection } from '../tokens/policy.ts';
import type { AuthorizationLinks, VerifiedLink } from './authorization-links.ts';
import { openOAuthState } from './oauth-state.ts';

export type ConnectionOAuthRow = NonNullable<Awaited<ReturnType<typeof findConnectionOAuth>>>;

/**
 * Why a link starts nothing. invalid: forged or malformed; expired: past its lifetime;
 * changed: the connection was deleted, recreated or changed since; spent: it was continued
 * already, or a newer link superseded it; connected: the connection is connected and the link
 * is not a re-authorization the app asked for.
 */
export type LinkRefusal = 'invalid' | 'expired' | 'changed' | 'spent' | 'connected';

export type AdmittedLink = { link: VerifiedLink; row: ConnectionOAuthRow };

export type LinkAdmission = ({ ok: true } & AdmittedLink) | { ok: false; reason: LinkRefusal; row?: ConnectionOAuthRow };

/** Whether an authorization link may start a flow now. Reads only: opening the page spends nothing. */
export async function admitAuthorizationLink(services: { db: Db; links: AuthorizationLinks }, text: string): Promise<LinkAdmission> {
  const verified = services.links.verify(text);
  if (!verified.ok) return { ok: false, reason: verified.reason };
  const { ok: _, ...link } = verified;
  const row = await findConnectionOAuth(services.db, link.ref, { forUpdate: false });
  if (!row || row.revision !== link.revision || row.created_at.getTime() !== link.createdAt) return { ok: false, reason: 'changed' };
  if (row.oauth_links_valid_after && row.oauth_links_valid_after.getTime() >= link.issuedAt) return { ok: false, reason: 'spent', row };
  if (parseStoredStatus(row.status).state === 'connected' && !link.reauthorize) return { ok: false, reason: 'connected', row };
  return { ok: true, link, row };
}

export type ReauthorizationServices = { db: Db; keyring: Keyring; links: AuthorizationLinks; namespaces: NamespaceDirectory };

/**
 * The app asks, on purpose, for a link that may replace a connected connection's tokens (the
 * end user switches accounts, or the upstream wants a new grant). It supersedes every link
 * minted before: only the newest one handed out works.
 */
export async function requestReauthorization(
  services: ReauthorizationServices,
  access: Access,
  ref: ConnectionRef,
): Promise<{ authorizationUrl: string; expiresAt: string }> {
  const owned = await services.namespaces.confirmOwned(access, ref.namespace);
  const row = await findConnection(services.db, ref, owned.incarnation);
  const notFound = () => new AppError('not_found', `Connection "${ref.id}" not found`);
  if (!row || !allowsConnection(access.scope, row.metadata)) throw notFound();
  const held = await findConnectionOAuth(services.db, ref, { forUpdate: false });
  // Deleted meanwhile, perhaps recreated by another account: not the connection the caller owns.
  if (held && held.incarnation !== row.incarnation) throw notFound();
  const usesOAuth = parseStoredStatus(row.status).state === 'auth_required' || (held !== undefined && openOAuthState(services.keyring, ref, held.oauth).tokens !== undefined);
  if (!held || !usesOAuth) throw new AppError('conflict', `Connection "${ref.id}" does not use OAuth: there is nothing to authorize`);
  // After every link minted so far (and any floor a continue just set, whatever the clocks say).
  const issuedAt = Math.max(Date.now(), (held.oauth_links_valid_after?.getTime() ?? 0) + 1);
  if (!(await supersedeAuthorizationLinks(services.db, { ...ref, incarnation: row.incarnation }, new Date(issuedAt - 1)))) throw notFound();
  const minted = services.links.reauthorizationUrlFor({ ...ref, revision: row.revision, createdAt: row.created_at }, issuedAt);
  return { authorizationUrl: minted.url, expiresAt: minted.expiresAt.toISOString() };
}
