import { updateConnection, type ConnectionChanges } from '../../db/queries/connections.ts';
import { findConnectionForSetup } from '../../db/queries/setup.ts';
import { AppError } from '../../errors.ts';
import { END_USER_ACTOR } from '../audit/audit-event-types.ts';
import { recordAuditEvent } from '../audit/record-audit-event.ts';
import { credentialsSetEvent } from '../connections/connection-audit.ts';
import { checkCredentialHeaders, checkMcpUrl, sameEndpoint } from '../connections/connection-input.ts';
import { parseStoredStatus } from '../connections/connection-status.ts';
import type { Connection } from '../connections/connection-view.ts';
import { reprobeConnection, type ConnectionServices } from '../connections/connections.ts';
import { openCredentials, sealCredentials, type ConnectionRef } from '../connections/credentials.ts';
import type { SetupSubmission } from './setup-form.ts';

export type SaveOutcome =
  | { kind: 'saved'; connection: Connection }
  /** The connection changed since the form was served (or is gone, or no longer needs input). */
  | { kind: 'changed' };

/**
 * Stores what the end user entered on a setup page, as an API `PUT` would for an
 * `input_required` connection: header values join the sealed credentials (write-only), query
 * values go into the URL (same host and path), the change is audited (actor `end_user`), and
 * the upstream is probed again with them. Only while the connection still needs input and is
 * at the revision the form was made for.
 */
export async function saveSetupInput(
  services: ConnectionServices,
  target: ConnectionRef & { revision: number; createdAt: number },
  submission: SetupSubmission,
): Promise<SaveOutcome> {
  const { keyring, config, requestId } = services;
  const saved = await services.db.transaction().execute(async (tx) => {
    const row = await findConnectionForSetup(tx, target, { forUpdate: true });
    if (!row || row.revision !== target.revision || row.created_at.getTime() !== target.createdAt) return false;
    if (parseStoredStatus(row.status).state !== 'input_required') return false;
    const stored = openCredentials(keyring, target, row.credentials);
    const changes: ConnectionChanges = {};
    const headers = checkCredentialHeaders({ ...stored, ...submission.headers });
    if (Object.entries(submission.headers).some(([name, value]) => stored[name] !== value)) {
      changes.credentials = sealCredentials(keyring, target, headers);
    }
    const url = new URL(row.mcp_url);
    for (const name of submission.removeQuery) url.searchParams.delete(name);
    for (const [name, value] of Object.entries(submission.setQuery)) url.searchParams.set(name, value);
    if (url.href !== row.mcp_url) {
      const mcpUrl = checkMcpUrl(url.href, config.allowedUpstreamHosts);
      // Only the query string may change here, as for an API update of an input_required connection.
      if (!sameEndpoint(row.mcp_url, mcpUrl)) throw new AppError('validation_error', 'The server address cannot be changed here');
      changes.mcpUrl = mcpUrl;
    }
    if (changes.credentials === undefined && changes.mcpUrl === undefined) return true;
    await updateConnection(tx, target, changes);
    const event = credentialsSetEvent({ accountId: row.account_id, actor: END_USER_ACTOR, requestId }, target, {
      created: false,
      headers: changes.credentials !== undefined ? headers : undefined,
      mcpUrl: changes.mcpUrl,
      previousMcpUrl: row.mcp_url,
    });
    if (event) await recordAuditEvent(tx, event);
    return true;
  });
  if (!saved) return { kind: 'changed' };
  return { kind: 'saved', connection: await reprobeConnection(services, target) };
}
