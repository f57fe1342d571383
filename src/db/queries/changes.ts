import { sql } from 'kysely';
import type { Db } from '../open.ts';

/** The NOTIFY channel every Switchboard process listens on for cache invalidation. */
export const CHANGES_CHANNEL = 'switchboard_changes';

/** Something stored changed; processes holding a copy must drop it. Ids only, never values. */
export type Change =
  | { kind: 'api_key'; id: string }
  | { kind: 'token_revoked'; id: string }
  /** Many tokens were revoked at once: reload the list. */
  | { kind: 'revocations_changed' }
  | { kind: 'namespace'; name: string }
  /** `revision` is the connection's revision after the change, null when it was deleted. */
  | { kind: 'connection'; namespace: string; id: string; revision: number | null }
  /** Webhook deliveries were queued (sent on commit): delivery workers look for due ones. */
  | { kind: 'webhook_deliveries_queued'; namespace: string }
  /** A replica started or stopped: others compare their settings with it (configuration drift). */
  | { kind: 'replicas_changed' }
  /** A client's own MCP session ended (`idHash`: SHA-256 of its id): whoever holds a handle on it drops it. */
  | { kind: 'client_session_ended'; idHash: string };

/** Tells every process (this one included) about a change. Inside a transaction, on commit. */
export async function notifyChange(db: Db, change: Change): Promise<void> {
  await sql`select pg_notify(${CHANGES_CHANNEL}, ${JSON.stringify(change)})`.execute(db);
}

export function parseChange(payload: string): Change | undefined {
  try {
    const change = JSON.parse(payload) as Change;
    return typeof change?.kind === 'string' ? change : undefined;
  } catch {
    return undefined;
  }
}
