import type { ConnectionRecord } from '../connections/connection-store.ts';
import type { UpstreamPool } from './upstream-pool.ts';
import type { SessionWire, UpstreamSession } from './upstream-session.ts';

/** How `work` tells that the upstream forgot its session: by what it answered, or how it failed. */
export type SessionLossSigns<T, S = UpstreamSession> = {
  answered(result: T, session: S): boolean;
  failed(error: unknown): boolean;
};

/**
 * The one renewal policy, for raw forwards and SDK work alike: `work` runs on the connection's
 * pooled session and, when the upstream forgot that session, once more on a fresh one (opened
 * once however many ask, see upstream-pool.ts). A client's own session (`own`) is never renewed
 * behind the client's back: what it held (log level, subscriptions) would be lost unseen, so
 * the upstream's 404 reaches the client, which initializes again.
 *
 * `onSession` hears each session used, so a caller knows which one answered even when `work` throws.
 */
export async function withRenewalOnce<T, Own extends SessionWire = UpstreamSession>(
  pool: Pick<UpstreamPool, 'session' | 'renew'>,
  connection: ConnectionRecord,
  own: Own | undefined,
  work: (session: Own | UpstreamSession) => Promise<T>,
  lost: SessionLossSigns<T, Own | UpstreamSession>,
  onSession?: (session: Own | UpstreamSession) => void,
): Promise<{ session: Own | UpstreamSession; result: T }> {
  let session: Own | UpstreamSession = own ?? (await pool.session(connection));
  onSession?.(session);
  try {
    const result = await work(session);
    if (own || !lost.answered(result, session)) return { session, result };
  } catch (error) {
    if (own || !lost.failed(error)) throw error;
  }
  // Only a pooled session gets here: `own` never is renewed.
  session = await pool.renew(connection, session as UpstreamSession);
  onSession?.(session);
  return { session, result: await work(session) };
}
