import type { Db } from '../../db/open.ts';
import { findConnectionForSetup, type SetupRow } from '../../db/queries/setup.ts';
import { AppError } from '../../errors.ts';
import { parseStoredStatus } from '../connections/connection-status.ts';
import { openCredentials } from '../connections/credentials.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { checkReturnUrl } from '../oauth/return-urls.ts';
import { buildFormFields, type FormField } from './setup-form.ts';
import { SETUP_PATH_PREFIX, type SetupLinks } from './setup-links.ts';

/**
 * A setup link opened: the connection it stands for, and where the user goes back to. The
 * pages (src/http/setup-pages.ts) decide what to show from this; what the link is worth, and
 * which connection and return address it leads to, is decided here.
 */
export type SetupVisit = {
  token: string;
  connection: SetupRow;
  /** When the setup link was minted (epoch ms). */
  mintedAt: number;
  /** Where the user goes back to: the link's own `?returnUrl=`, else the one stored with the connection. */
  returnUrl?: string;
  /** The `?returnUrl=` the link came with (carried through every step). */
  explicitReturnUrl?: string;
  /** The setup page's own address, with that `?returnUrl=`. */
  selfUrl: string;
};

export type SetupVisitServices = {
  db: Db;
  links: Pick<SetupLinks, 'verifySetupLink'>;
  config: { publicUrl: string; oauthReturnOrigins: readonly string[] };
};

/** One answer for forged, tampered, deleted and recreated alike: a link never tells whether a connection exists. */
export function invalidSetupLink(): AppError {
  return new AppError('not_found', 'This setup link is not valid. Ask the app that sent you here for a new one.');
}

/** The visit a link's path segment (still URL-encoded) and `?returnUrl=` (null when absent) make. */
export async function openSetupLink(services: SetupVisitServices, segment: string, askedReturnUrl: string | null): Promise<SetupVisit> {
  let token: string;
  try {
    token = decodeURIComponent(segment);
  } catch {
    throw invalidSetupLink();
  }
  const verified = services.links.verifySetupLink(token);
  if (!verified.ok) {
    if (verified.reason === 'expired') throw new AppError('not_found', 'This setup link has expired. Ask the app that sent you here for a new one.');
    throw invalidSetupLink();
  }
  const connection = await findConnectionForSetup(services.db, verified.ref, { forUpdate: false });
  if (!connection || connection.created_at.getTime() !== verified.createdAt) throw invalidSetupLink();
  const origins = services.config.oauthReturnOrigins;
  // A return address the app gave is checked (a refused one is an error for the app to fix);
  // a stored one that is no longer allowed is just not used.
  const explicitReturnUrl = askedReturnUrl === null ? undefined : checkReturnUrl(askedReturnUrl, origins);
  const stored = connection.oauth_return_url ? allowedOrUndefined(connection.oauth_return_url, origins) : undefined;
  const selfUrl = `${services.config.publicUrl}${SETUP_PATH_PREFIX}${token}${explicitReturnUrl ? `?returnUrl=${encodeURIComponent(explicitReturnUrl)}` : ''}`;
  return { token, connection, returnUrl: explicitReturnUrl ?? stored, explicitReturnUrl, selfUrl, mintedAt: verified.mintedAt };
}

function allowedOrUndefined(returnUrl: string, origins: readonly string[]): string | undefined {
  try {
    return checkReturnUrl(returnUrl, origins);
  } catch {
    return undefined;
  }
}

/** The fields the configuration form asks for now: what the upstream wants, less nothing it already has. */
export function setupFormFieldsOf(keyring: Keyring, connection: SetupRow): FormField[] {
  const status = parseStoredStatus(connection.status);
  const http = status.state === 'input_required' ? status.http : {};
  // Only the names of the stored headers are used: whether a secret is already there.
  const headerNames = new Set(Object.keys(openCredentials(keyring, connection, connection.credentials)));
  return buildFormFields(http, { mcpUrl: connection.mcp_url, headerNames });
}
