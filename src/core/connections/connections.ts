import type { Db } from '../../db/open.ts';
import {
  deleteConnectionRow,
  findConnection,
  findConnectionForUpdate,
  findConnectionWithCredentials,
  insertConnectionIfFree,
  listConnectionsPage,
  updateConnection,
  type ConnectionChanges,
} from '../../db/queries/connections.ts';
import { AppError } from '../../errors.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { EgressAllowlist } from '../../egress-allowlist.ts';
import type { Egress } from '../network/guarded-dispatcher.ts';
import { newConnectionId } from '../ids.ts';
import { findUnstorableText, isStorableText } from '../storable-text.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../json-depth.ts';
import { holdNamespace, type NamespaceDirectory, type OwnedNamespace } from '../namespaces/namespace-directory.ts';
import type { Access } from '../auth/access.ts';
import type { Logger } from '../../logger.ts';
import { findConnectionOAuth } from '../../db/queries/oauth.ts';
import type { ConnectionLinks } from './connection-links.ts';
import { checkReturnUrl } from '../oauth/return-urls.ts';
import { revokeDeletedConnectionTokens } from '../oauth/token-revocation.ts';
import type { OAuthChallenge } from '../oauth/oauth-state.ts';
import { allowsConnection, connectionCondition } from '../tokens/policy.ts';
import { checkConnectionId, checkCredentialHeaders, checkMcpUrl, isConnectionId, sameEndpoint } from './connection-input.ts';
import { parseStoredStatus, type ServerInfo, type StoredStatus } from './connection-status.ts';
import { changeWithAuditEvent, recordAuditEvent } from '../audit/record-audit-event.ts';
import { openOAuthState } from '../oauth/oauth-state.ts';
import { connectionDeletedEvent, credentialsSetEvent } from './connection-audit.ts';
import { toConnectionRecord, type ConnectionRecord } from './connection-store.ts';
import { toConnection, type Connection } from './connection-view.ts';
import { openCredentials, sealCredentials, type ConnectionRef } from './credentials.ts';
import { metadataFilters } from './list-query.ts';
import { decodePageCursor, encodePageCursor } from '../paging/page-cursor.ts';
import { enqueueConnectionDeleted, recordConnectionStatusWithEvent } from '../webhooks/webhook-events.ts';

export type ProbeOutcome = {
  status: StoredStatus;
  serverInfo?: ServerInfo | null;
  /** The upstream's OAuth challenge when it wants authorization (null: none any more). */
  challenge?: OAuthChallenge | null;
};

/** Connects to a connection's upstream and reports what it found (never throws). */
export type UpstreamProber = { probe(connection: ConnectionRecord): Promise<ProbeOutcome> };

export type ConnectionServices = {
  db: Db;
  keyring: Keyring;
  logger: Logger;
  config: { publicUrl: string; upstreamTimeoutMs: number; oauthReturnOrigins: readonly string[]; allowedUpstreamHosts: EgressAllowlist };
  links: ConnectionLinks;
  /** For the token revocation a deletion sends to the authorization server. */
  egress: Pick<Egress, 'fetch'>;
  changes: ChangeFeed;
  namespaces: NamespaceDirectory;
  /** The upstream gateway, here only for probes. */
  gateway: UpstreamProber;
  /** The request being served, for the audit log. */
  requestId?: string;
};

export type ConnectionInput = {
  mcpUrl?: string;
  /** Where the end user returns after authorizing the upstream (an allowed origin). */
  returnUrl?: string;
  name?: string;
  metadata?: Record<string, unknown> | null;
  headers?: Record<string, string>;
};

const MAX_METADATA_BYTES = 16 * 1024;
const MAX_NAME_LENGTH = 200;
const UNSTORABLE = 'text must not contain NUL characters or unpaired surrogates';

export async function createConnection(
  services: ConnectionServices,
  access: Access,
  namespace: string,
  input: ConnectionInput,
): Promise<Connection> {
  const owned = await services.namespaces.confirmOwned(access, namespace);
  if (input.mcpUrl === undefined) throw new AppError('validation_error', 'mcpUrl is required to create a connection');
  const fields = checkFields(input, services.config);
  requireAllowedMetadata(access, fields.metadata ?? null);
  for (let attempt = 0; attempt < 3; attempt++) {
    const id = newConnectionId();
    const ref = { namespace, id };
    const event = credentialsSetEvent({ access, requestId: services.requestId }, ref, { created: true, headers: fields.headers, mcpUrl: fields.mcpUrl });
    const row = await services.db.transaction().execute(async (tx) => {
      // Into the namespace the ownership check saw, never one recreated under its name since.
      await holdNamespace(tx, owned);
      const inserted = await insertConnectionIfFree(tx, {
        ...ref,
        name: fields.name ?? id,
        mcpUrl: fields.mcpUrl!,
        metadata: fields.metadata ?? null,
        returnUrl: fields.returnUrl ?? null,
        credentials: sealCredentials(services.keyring, ref, fields.headers ?? {}),
      });
      if (inserted && event) await recordAuditEvent(tx, event);
      return inserted;
    });
    if (row) return probeAndRecord(services, ref, row);
  }
  throw new AppError('service_unavailable', 'Could not allocate a connection id; try again');
}

/** Creates the connection with the caller's id, or updates it. `created` tells which. */
export async function upsertConnection(
  services: ConnectionServices,
  access: Access,
  ref: ConnectionRef,
  input: ConnectionInput,
): Promise<{ connection: Connection; created: boolean }> {
  const owned = await services.namespaces.confirmOwned(access, ref.namespace);
  checkConnectionId(ref.id);
  const fields = checkFields(input, services.config);
  // Two creates of one id race: the loser finds the row on its second pass and updates it.
  let outcome: { created: boolean; reprobe: boolean; revision: number; incarnation: string } | undefined;
  for (let attempt = 0; attempt < 2 && !outcome; attempt++) {
    outcome = await services.db.transaction().execute((tx) => upsertInTransaction(tx, services, access, owned, ref, fields));
  }
  if (!outcome) throw new AppError('service_unavailable', `Connection "${ref.id}" is being changed concurrently; retry`);
  if (!outcome.reprobe) {
    await services.changes.announce({ kind: 'connection', ...ref, revision: outcome.revision });
    return { connection: await getConnectionView(services, ref, outcome.incarnation), created: false };
  }
  return { connection: await probeAndRecord(services, ref, outcome), created: outcome.created };
}

/** One pass of an upsert; undefined when a concurrent create took the id first. */
async function upsertInTransaction(
  tx: Db,
  { keyring, requestId }: Pick<ConnectionServices, 'keyring' | 'requestId'>,
  access: Access,
  owned: OwnedNamespace,
  ref: ConnectionRef,
  fields: ConnectionInput,
) {
  // In the namespace the ownership check saw, never one recreated under its name since.
  await holdNamespace(tx, owned);
  const existing = await findConnectionForUpdate(tx, ref);
  // A connection outside the caller's reach is answered as missing (and cannot be taken over).
  if (existing && !allowsConnection(access.scope, existing.metadata)) throw connectionNotFound(ref.id);
  requireAllowedMetadata(access, fields.metadata !== undefined ? fields.metadata : (existing?.metadata ?? null));
  if (!existing) {
    if (fields.mcpUrl === undefined) throw new AppError('validation_error', 'mcpUrl is required to create a connection');
    const inserted = await insertConnectionIfFree(tx, {
      ...ref,
      name: fields.name ?? ref.id,
      mcpUrl: fields.mcpUrl,
      metadata: fields.metadata ?? null,
      returnUrl: fields.returnUrl ?? null,
      credentials: sealCredentials(keyring, ref, fields.headers ?? {}),
    });
    const event = inserted && credentialsSetEvent({ access, requestId }, ref, { created: true, headers: fields.headers, mcpUrl: fields.mcpUrl });
    if (event) await recordAuditEvent(tx, event);
    return inserted && { created: true, reprobe: true, revision: inserted.revision, incarnation: inserted.incarnation };
  }
  const status = parseStoredStatus(existing.status);
  const changes: ConnectionChanges = {};
  if (fields.mcpUrl !== undefined && fields.mcpUrl !== existing.mcp_url) {
    const addsConfig = status.state === 'input_required' && sameEndpoint(existing.mcp_url, fields.mcpUrl);
    if (!addsConfig) {
      throw new AppError('conflict', `Connection "${ref.id}" already points at another URL; delete it first, or use another connection id`);
    }
    changes.mcpUrl = fields.mcpUrl;
  }
  if (fields.headers !== undefined && !sameHeaders(fields.headers, openCredentials(keyring, ref, existing.credentials))) {
    changes.credentials = sealCredentials(keyring, ref, fields.headers);
  }
  if (fields.name !== undefined) changes.name = fields.name;
  if (fields.metadata !== undefined) changes.metadata = fields.metadata;
  if (fields.returnUrl !== undefined) changes.returnUrl = fields.returnUrl;
  const updated = await updateConnection(tx, ref, changes);
  const event = credentialsSetEvent({ access, requestId }, ref, {
    created: false,
    headers: changes.credentials !== undefined ? fields.headers : undefined,
    mcpUrl: changes.mcpUrl,
    previousMcpUrl: existing.mcp_url,
  });
  if (event) await recordAuditEvent(tx, event);
  // Reach out again when what decides the upstream's answer changed, or when it did not work.
  const reprobe = changes.mcpUrl !== undefined || changes.credentials !== undefined || status.state !== 'connected';
  return { created: false, reprobe, revision: updated!.revision, incarnation: updated!.incarnation };
}

function sameHeaders(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}

export async function getConnection(services: ConnectionServices, access: Access, ref: ConnectionRef): Promise<Connection> {
  const owned = await services.namespaces.confirmOwned(access, ref.namespace);
  const row = await findConnection(services.db, ref, owned.incarnation);
  if (!row || !allowsConnection(access.scope, row.metadata)) throw connectionNotFound(ref.id);
  return toConnection(row, services.links);
}

export type ConnectionListQuery = {
  limit: number;
  cursor?: string;
  name?: string;
  mcpUrl?: string;
  metadata?: Record<string, string | string[]>;
};

export async function listConnections(
  services: ConnectionServices,
  access: Access,
  namespace: string,
  query: ConnectionListQuery,
): Promise<{ connections: Connection[]; nextCursor: string | null }> {
  return listConnectionsIn(services, access, await services.namespaces.confirmOwned(access, namespace), query);
}

/** One page of the connections of the namespace the caller's ownership check (`confirmOwned`) saw; none once it is gone. */
export async function listConnectionsIn(
  services: ConnectionServices,
  access: Access,
  owned: OwnedNamespace,
  query: ConnectionListQuery,
): Promise<{ connections: Connection[]; nextCursor: string | null }> {
  const scopeCondition = connectionCondition(access.scope);
  const rows = await listConnectionsPage(services.db, {
    namespace: owned.name,
    namespaceIncarnation: owned.incarnation,
    name: query.name,
    mcpUrl: query.mcpUrl,
    metadata: {
      all: [
        ...metadataFilters(query.metadata ?? {}).map((alternatives) => ({ any: alternatives.map((contains) => ({ contains })) })),
        // A token scoped by metadata sees only the connections it matches.
        ...(scopeCondition ? [scopeCondition] : []),
      ],
    },
    after: query.cursor ? decodePageCursor(query.cursor, isConnectionId) : undefined,
    // One more than asked tells whether another page follows.
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    connections: page.map((row) => toConnection(row, services.links)),
    nextCursor: rows.length > query.limit && last ? encodePageCursor({ at: last.created_at, id: last.id }) : null,
  };
}

/** Deletes the connection; every process drops it and ends its upstream session. */
export async function deleteConnection(
  services: ConnectionServices,
  access: Access,
  ref: ConnectionRef,
): Promise<{ success: true }> {
  const owned = await services.namespaces.confirmOwned(access, ref.namespace);
  const row = await findConnection(services.db, ref, owned.incarnation);
  if (!row || !allowsConnection(access.scope, row.metadata)) throw connectionNotFound(ref.id);
  const held = await findConnectionOAuth(services.db, ref, { forUpdate: false });
  // Deleted meanwhile, perhaps recreated by another account: its tokens are not ours to revoke.
  if (held && held.incarnation !== row.incarnation) throw connectionNotFound(ref.id);
  const hadOAuthTokens = held !== undefined && openOAuthState(services.keyring, ref, held.oauth).tokens !== undefined;
  const event = connectionDeletedEvent({ access, requestId: services.requestId }, ref, hadOAuthTokens);
  const deleted = await changeWithAuditEvent(services.db, event, async (db) => {
    if (!(await deleteConnectionRow(db, { ...ref, incarnation: row.incarnation }))) return false;
    // Its webhook event commits with the deletion.
    await enqueueConnectionDeleted(db, row);
    return true;
  });
  if (!deleted) throw connectionNotFound(ref.id);
  await services.changes.announce({ kind: 'connection', ...ref, revision: null });
  if (held) revokeDeletedConnectionTokens(services, ref, held);
  return { success: true };
}

/**
 * Probes the upstream as the connection stands now and stores what was learned, unless the
 * connection changed meanwhile (then the newer state wins and is shown as it is). Only this
 * incarnation of it: a connection deleted and recreated under its id (revision 1 again) while
 * the probe was out gets nothing from it, nor is it shown.
 */
async function probeAndRecord(
  services: ConnectionServices,
  ref: ConnectionRef,
  written: { revision: number; incarnation: string },
): Promise<Connection> {
  await services.changes.announce({ kind: 'connection', ...ref, revision: written.revision });
  const row = await findConnectionWithCredentials(services.db, ref);
  if (!row || row.incarnation !== written.incarnation) throw connectionNotFound(ref.id);
  const outcome = await services.gateway.probe(toConnectionRecord(row, services.keyring));
  const recorded = await recordConnectionStatusWithEvent(services.db, { ...ref, revision: row.revision, incarnation: row.incarnation }, outcome);
  if (!recorded) return getConnectionView(services, ref, row.incarnation);
  await services.changes.announce({ kind: 'connection', ...ref, revision: recorded.revision });
  return toConnection(recorded, services.links);
}

/**
 * Connects to the upstream again as the connection stands (e.g. after its tokens arrived) and
 * records the status; with `incarnation`, only if it is still that connection.
 */
export async function reprobeConnection(services: ConnectionServices, ref: ConnectionRef & { incarnation?: string }): Promise<Connection> {
  const row = await findConnection(services.db, ref);
  if (!row || (ref.incarnation !== undefined && row.incarnation !== ref.incarnation)) throw connectionNotFound(ref.id);
  return probeAndRecord(services, { namespace: ref.namespace, id: ref.id }, row);
}

/**
 * What a call through the connection showed: a connection that answered is connected, one
 * whose upstream asks for authorization is not. Stored (and announced) only when it differs.
 */
export async function recordStatusSeenInTraffic(
  services: Pick<ConnectionServices, 'db' | 'changes'>,
  connection: ConnectionRecord,
  seen: ProbeOutcome,
): Promise<void> {
  // An error that changed its reason is news too (e.g. a DNS failure, later a refused address).
  const messageOf = (status: StoredStatus) => (status.state === 'error' ? status.message : undefined);
  const unchanged =
    connection.status.state === seen.status.state &&
    messageOf(connection.status) === messageOf(seen.status) &&
    (seen.serverInfo === undefined || canonicalJson(connection.serverInfo) === canonicalJson(seen.serverInfo));
  if (unchanged) return;
  const recorded = await recordConnectionStatusWithEvent(services.db, connection, seen);
  if (recorded) await services.changes.announce({ kind: 'connection', namespace: connection.namespace, id: connection.id, revision: recorded.revision });
}

/** JSON with object keys sorted: jsonb hands stored objects back in its own key order (shorter keys first). */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

async function getConnectionView(services: Pick<ConnectionServices, 'db' | 'links'>, ref: ConnectionRef, incarnation: string): Promise<Connection> {
  const row = await findConnection(services.db, ref);
  if (!row || row.incarnation !== incarnation) throw connectionNotFound(ref.id);
  return toConnection(row, services.links);
}

function requireAllowedMetadata(access: Access, metadata: Record<string, unknown> | null): void {
  if (!allowsConnection(access.scope, metadata)) {
    throw new AppError('forbidden', 'This token does not allow a connection with this metadata');
  }
}

export function connectionNotFound(id: string): AppError {
  return new AppError('not_found', `Connection "${id}" not found`);
}

function checkFields(input: ConnectionInput, config: ConnectionServices['config']): ConnectionInput {
  const checked: ConnectionInput = {};
  if (input.returnUrl !== undefined) checked.returnUrl = checkReturnUrl(input.returnUrl, config.oauthReturnOrigins);
  if (input.mcpUrl !== undefined) checked.mcpUrl = checkMcpUrl(input.mcpUrl, config.allowedUpstreamHosts);
  if (input.headers !== undefined) checked.headers = checkCredentialHeaders(input.headers);
  if (input.name !== undefined) {
    const name = input.name.trim();
    if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
      throw new AppError('validation_error', `name must be 1 to ${MAX_NAME_LENGTH} characters`);
    }
    if (!isStorableText(name)) throw new AppError('validation_error', UNSTORABLE);
    checked.name = name;
  }
  if (input.metadata !== undefined) {
    if (nestsDeeperThan(input.metadata, MAX_JSON_DEPTH)) {
      throw new AppError('validation_error', `metadata must not nest more than ${MAX_JSON_DEPTH} levels deep`);
    }
    if (input.metadata !== null && Buffer.byteLength(JSON.stringify(input.metadata)) > MAX_METADATA_BYTES) {
      throw new AppError('validation_error', `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`);
    }
    const unstorable = findUnstorableText(input.metadata);
    if (unstorable) throw new AppError('validation_error', `metadata.${unstorable}: ${UNSTORABLE}`);
    checked.metadata = input.metadata;
  }
  return checked;
}
