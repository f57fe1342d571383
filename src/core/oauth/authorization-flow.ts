import { createHash, randomBytes } from 'node:crypto';
import { auth, IssuerMismatchError, OAuthError } from '@modelcontextprotocol/client';
import type { Db } from '../../db/open.ts';
import {
  claimOAuthFlow,
  findConnectionOAuth,
  insertOAuthFlow,
  oauthFlowExists,
  spendAuthorizationLink,
  storeConnectionChallenge,
  storeConnectionOAuth,
} from '../../db/queries/oauth.ts';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { boundedFetch, describeBoundedFetchFailure, MAX_OAUTH_REPLY_BYTES } from '../network/bounded-fetch.ts';
import { unreachableHostMessage } from '../network/egress-policy.ts';
import { unreachableHostName, type Egress } from '../network/guarded-dispatcher.ts';
import type { ConnectionRef } from '../connections/credentials.ts';
import type { AuthorizationLinks } from './authorization-links.ts';
import { browserHash, isSameBrowser } from './browser-binding.ts';
import { admitAuthorizationLink, type ConnectionOAuthRow, type LinkRefusal } from './link-admission.ts';
import { createFlowProvider, type FlowState } from './flow-provider.ts';
import { openOAuthState, sealOAuthState, toTokenSet, type OAuthChallenge } from './oauth-state.ts';
import { checkReturnUrl } from './return-urls.ts';
import { changeWithAuditEvent, recordAuditEvent } from '../audit/record-audit-event.ts';
import type { AuditEventDetails } from '../audit/audit-event-types.ts';
import { authorizationCompletedEvent, authorizationFailedEvent, authorizationStartedEvent, oauthErrorCode } from './oauth-audit.ts';
import { parseStoredStatus } from '../connections/connection-status.ts';

export type OAuthFlowServices = {
  db: Db;
  keyring: Keyring;
  changes: ChangeFeed;
  links: AuthorizationLinks;
  config: { publicUrl: string; oauthReturnOrigins: readonly string[]; upstreamTimeoutMs: number };
  /** Discovery, registration and token requests go out through it: only to allowed addresses. */
  egress: Pick<Egress, 'fetch'>;
  /** Tells the operator why an authorization server was given up on (the end user's page says it plainly). */
  logger?: Logger;
  /** Connects to the upstream anew and records its status (after tokens arrive), if it is still that incarnation. */
  reprobe(ref: ConnectionRef & { incarnation: string }): Promise<unknown>;
  /** The request being served, for the audit log. */
  requestId?: string;
};

/** How long a started authorization may take before its state is refused. */
export const FLOW_TTL_MS = 10 * 60_000;
export const FLOW_CONTEXT = 'oauth-flow';

type StoredFlow = {
  verifier: string;
  discovery: FlowState['discovery'];
  scope?: string;
  returnUrl?: string;
  clientId?: string;
  /** The hash of the secret of the browser that continued the link (absent in flows from before: refused). */
  browser?: string;
  /** Started by a re-authorization link: may replace the tokens of a connected connection. */
  reauthorize?: boolean;
  /**
   * The connection's incarnation when the flow started (absent in flows from before: refused).
   * Its revision alone does not tell it from one deleted and recreated under its id meanwhile.
   */
  incarnation?: string;
};

export function callbackUrl(publicUrl: string): string {
  return `${publicUrl}/oauth/callback`;
}

/** The Client ID Metadata Document URL, offered only where authorization servers can fetch it (https). */
export function clientMetadataDocumentUrl(publicUrl: string): string | undefined {
  return publicUrl.startsWith('https://') ? `${publicUrl}/oauth/client-metadata.json` : undefined;
}

export type ContinueOutcome = { ok: true; location: string } | { ok: false; reason: LinkRefusal };

/**
 * The end user continues an authorization link (the interstitial's button): discovery
 * (protected resource metadata from the upstream's challenge or the well-known paths, then
 * the authorization server's metadata), a client (configured, CIMD or dynamically registered
 * for the account), PKCE S256, `state`, `resource` and the scope asked for. The link is spent
 * in the same transaction that stores the flow (single-use, for minutes, bound to the
 * browser's secret). Returns where to send the browser, or why the link starts nothing.
 */
export async function continueAuthorization(
  services: OAuthFlowServices,
  text: string,
  request: { returnUrl: string | undefined; browserSecret: string },
): Promise<ContinueOutcome> {
  const admission = await admitAuthorizationLink(services, text);
  if (!admission.ok) {
    if (admission.row && (admission.reason === 'spent' || admission.reason === 'connected')) {
      await recordLinkRefused(services, admission.row, admission.reason === 'spent' ? 'link_spent' : 'already_connected');
    }
    return admission;
  }
  const { link, row } = admission;
  const ref = link.ref;
  // The link's own returnUrl wins over the one stored with the connection; both are checked.
  const wanted = request.returnUrl ?? row.oauth_return_url ?? undefined;
  const checkedReturnUrl = wanted === undefined ? undefined : checkReturnUrl(wanted, services.config.oauthReturnOrigins);
  const state = openOAuthState(services.keyring, ref, row.oauth);
  const challenge = (row.oauth_challenge as OAuthChallenge | null) ?? {};
  const flow: FlowState = { state: randomBytes(32).toString('base64url'), scope: state.scope ?? challenge.scope };
  const provider = createFlowProvider(providerDeps(services, row.account_id), flow);
  try {
    await auth(provider, {
      serverUrl: row.mcp_url,
      ...(challenge.resourceMetadataUrl ? { resourceMetadataUrl: new URL(challenge.resourceMetadataUrl) } : {}),
      ...(flow.scope ? { scope: flow.scope } : {}),
      forceReauthorization: true,
      fetchFn: authorizationServerFetch(services),
    });
  } catch (error) {
    throw await startFailed(services, row, flow, error);
  }
  if (!flow.authorizationUrl || !flow.verifier) throw await startFailed(services, row, flow, undefined);
  const stored: StoredFlow = {
    verifier: flow.verifier,
    discovery: flow.discovery,
    scope: flow.scope,
    returnUrl: checkedReturnUrl,
    clientId: flow.clientId,
    browser: browserHash(request.browserSecret),
    reauthorize: link.reauthorize,
    incarnation: row.incarnation,
  };
  const issuer = flow.discovery?.authorizationServerMetadata?.issuer ?? null;
  const started = authorizationStartedEvent({ accountId: row.account_id, requestId: services.requestId }, ref, { issuer, reauthorization: link.reauthorize });
  const spent = await changeWithAuditEvent(services.db, started, async (db) => {
    // Two continues of one link (two tabs, a double click) race here: one spends it, one is refused.
    if (!(await spendAuthorizationLink(db, { ...ref, revision: row.revision, incarnation: row.incarnation }, { issuedAt: new Date(link.issuedAt), now: new Date() }))) return false;
    await insertOAuthFlow(db, {
      stateHash: hashState(flow.state),
      namespace: ref.namespace,
      connectionId: ref.id,
      revision: row.revision,
      sealed: services.keyring.seal(JSON.stringify(stored), FLOW_CONTEXT),
      expiresAt: new Date(Date.now() + FLOW_TTL_MS),
    });
    return true;
  });
  if (!spent) {
    await recordLinkRefused(services, row, 'link_spent');
    return { ok: false, reason: 'spent' };
  }
  return { ok: true, location: flow.authorizationUrl.href };
}

/**
 * Continuing a link led to no authorization page: the operator hears why (log, at warn) and the
 * account's audit log keeps at which step it stopped, with the server's OAuth error code if it
 * gave one. Returns the error the end user's page shows.
 */
async function startFailed(services: OAuthFlowServices, row: ConnectionOAuthRow, flow: FlowState, error: unknown): Promise<AppError> {
  const ref = { namespace: row.namespace, id: row.id };
  const host = new URL(row.mcp_url).host;
  // What the flow provider was given so far says how far the start went.
  const reason = !flow.discovery ? 'discovery_failed' : !flow.clientId ? 'registration_failed' : 'start_failed';
  const described = error === undefined ? `${host} did not lead to an authorization page` : describeOAuthError(error);
  const issuer = flow.discovery?.authorizationServerMetadata?.issuer ?? null;
  services.logger?.warn({ connection: `${ref.namespace}/${ref.id}`, step: reason, issuer, reason: described }, 'could not start an upstream authorization');
  await recordAuditEvent(
    services.db,
    authorizationFailedEvent({ accountId: row.account_id, requestId: services.requestId }, ref, { issuer, reason, error: error === undefined ? null : oauthErrorCode(error) }),
  );
  return new AppError('bad_gateway', error === undefined ? described : `Could not start the authorization with ${host}: ${described}`);
}

async function recordLinkRefused(services: OAuthFlowServices, row: ConnectionOAuthRow, reason: 'link_spent' | 'already_connected'): Promise<void> {
  const ref = { namespace: row.namespace, id: row.id };
  await recordAuditEvent(services.db, authorizationFailedEvent({ accountId: row.account_id, requestId: services.requestId }, ref, { issuer: null, reason, error: null }));
}

export type CallbackOutcome =
  | { kind: 'connected'; ref: ConnectionRef; returnUrl?: string }
  | { kind: 'denied'; ref: ConnectionRef; returnUrl?: string; error: string };

/**
 * The authorization server sent the browser back. The state must be one we issued, unused,
 * unexpired, to the browser that continued the link (its secret), and for a connection still
 * as it was and not connected meanwhile (unless re-authorizing); `iss` must be the issuer we
 * talked to (RFC 9207); then the code is exchanged (PKCE), the tokens sealed onto the
 * connection, and the upstream probed with them.
 */
export async function completeAuthorization(services: OAuthFlowServices, params: URLSearchParams, browserSecret: string | undefined): Promise<CallbackOutcome> {
  const state = params.get('state');
  if (!state) throw new AppError('validation_error', 'The authorization answer carries no state');
  const stateHash = hashState(state);
  const claimed = await claimOAuthFlow(services.db, stateHash);
  if (!claimed) {
    const known = await oauthFlowExists(services.db, stateHash);
    throw new AppError(
      'validation_error',
      known ? 'This authorization was already completed or has expired: start again from the app' : 'This authorization answer is not one Switchboard asked for',
    );
  }
  const ref = { namespace: claimed.namespace, id: claimed.connection_id };
  const opened = services.keyring.open(claimed.flow, FLOW_CONTEXT);
  if (!opened.ok) throw new AppError('validation_error', 'This authorization can no longer be completed: start again from the app');
  const stored = JSON.parse(opened.plaintext) as StoredFlow;
  const returnUrl = stored.returnUrl;
  const found = await findConnectionOAuth(services.db, ref, { forUpdate: false });
  // Only the connection the flow was started for: one recreated under its id since (revision 1
  // again, perhaps another account's) is another connection, and hears nothing of this flow.
  const row = found && stored.incarnation !== undefined && found.incarnation === stored.incarnation ? found : undefined;
  // From here on every outcome goes into the account's audit log (a connection deleted meanwhile has no account to tell).
  const who = row && { accountId: row.account_id, requestId: services.requestId };
  const issuer = stored.discovery?.authorizationServerMetadata?.issuer ?? null;
  const failed = async (reason: AuditEventDetails<'oauth.failed'>['reason'], code: string | null = null) => {
    if (who) await recordAuditEvent(services.db, authorizationFailedEvent(who, ref, { issuer, reason, error: code }));
  };
  // Before anything else, even a denial: an answer delivered to another browser tells nothing.
  if (!isSameBrowser(browserSecret, stored.browser)) {
    await failed('browser_mismatch');
    throw new AppError(
      'forbidden',
      'This authorization was started in another browser (or this browser does not keep cookies for this site): open the link from the app again, in the browser you sign in with',
    );
  }
  const error = params.get('error');
  if (error) {
    const code = oauthErrorCode(error) ?? 'access_denied';
    await failed('denied', code);
    return { kind: 'denied', ref, returnUrl, error: code };
  }
  if (!row || row.revision !== claimed.revision) {
    await failed('connection_changed');
    throw new AppError('validation_error', 'The connection changed while it was being authorized: start again from the app');
  }
  if (parseStoredStatus(row.status).state === 'connected' && !stored.reauthorize) {
    await failed('already_connected');
    throw new AppError('conflict', 'The connection was authorized meanwhile (from another link): nothing was changed');
  }
  const code = params.get('code');
  if (!code) {
    await failed('no_code');
    throw new AppError('validation_error', 'The authorization answer carries no code');
  }
  const flow: FlowState = { state, verifier: stored.verifier, discovery: stored.discovery, scope: stored.scope, clientId: stored.clientId };
  const provider = createFlowProvider(providerDeps(services, row.account_id), flow);
  try {
    await auth(provider, {
      serverUrl: row.mcp_url,
      authorizationCode: code,
      iss: params.get('iss') ?? undefined,
      fetchFn: authorizationServerFetch(services),
    });
  } catch (caught) {
    if (caught instanceof IssuerMismatchError) {
      await failed('issuer_mismatch');
      throw new AppError('validation_error', 'The authorization answer came from another issuer than the one asked (iss mismatch): refused');
    }
    await failed('exchange_refused', oauthErrorCode(caught));
    services.logger?.warn({ connection: `${ref.namespace}/${ref.id}`, reason: describeOAuthError(caught) }, 'the upstream authorization code exchange failed');
    throw new AppError('bad_gateway', `The authorization server refused the exchange: ${describeOAuthError(caught)}`);
  }
  if (!flow.tokens) {
    await failed('no_tokens');
    throw new AppError('bad_gateway', 'The authorization server returned no tokens');
  }
  const oauth = {
    issuer: flow.issuer ?? flow.discovery?.authorizationServerMetadata?.issuer,
    clientId: flow.clientId,
    discovery: flow.discovery,
    tokens: toTokenSet(flow.tokens),
    ...(stored.scope ? { scope: stored.scope } : {}),
  };
  const completed = authorizationCompletedEvent({ accountId: row.account_id, requestId: services.requestId }, ref, { issuer: oauth.issuer ?? issuer, scope: oauth.tokens.scope ?? null });
  // The exchange took a round trip to a server we do not control: the connection may have been
  // deleted and recreated meanwhile, so every write names its incarnation.
  const same = { ...ref, revision: claimed.revision, incarnation: row.incarnation };
  const saved = await changeWithAuditEvent(services.db, completed, (db) => storeConnectionOAuth(db, same, sealOAuthState(services.keyring, ref, oauth)));
  if (!saved) {
    await failed('connection_changed');
    throw new AppError('validation_error', 'The connection changed while it was being authorized: start again from the app');
  }
  await storeConnectionChallenge(services.db, same, null);
  await services.changes.announce({ kind: 'connection', ...ref, revision: claimed.revision });
  await services.reprobe({ ...ref, incarnation: row.incarnation });
  return { kind: 'connected', ref, returnUrl };
}

function providerDeps(services: OAuthFlowServices, accountId: string) {
  return {
    db: services.db,
    keyring: services.keyring,
    accountId,
    redirectUrl: callbackUrl(services.config.publicUrl),
    clientMetadataUrl: clientMetadataDocumentUrl(services.config.publicUrl),
  };
}

/**
 * The authorization server is whichever one the tenant's MCP server names, hostile ones
 * included: each request to it is bounded in time and size.
 */
export function authorizationServerFetch(services: { egress: Pick<Egress, 'fetch'>; config: { upstreamTimeoutMs: number } }) {
  return boundedFetch(services.egress.fetch, { timeoutMs: services.config.upstreamTimeoutMs, maxBytes: MAX_OAUTH_REPLY_BYTES });
}

function hashState(state: string): Buffer {
  return createHash('sha256').update(state, 'utf8').digest();
}

/** The OAuth error code and description when there is one; never tokens or codes. */
export function describeOAuthError(error: unknown): string {
  // Discovery may lead to any host the upstream names: a name that does not resolve and one refused after DNS read the same.
  const unreachable = unreachableHostName(error);
  if (unreachable) return unreachableHostMessage(unreachable);
  const bounded = describeBoundedFetchFailure(error);
  if (bounded) return `the authorization server was given up on: ${bounded}`;
  if (error instanceof OAuthError) return `${error.code}${error.message ? ` (${error.message.slice(0, 200)})` : ''}`;
  return error instanceof Error ? error.message.slice(0, 300) : String(error).slice(0, 300);
}
