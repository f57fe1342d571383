import type { Logger } from '../../logger.ts';
import { recordStatusSeenInTraffic, type ConnectionServices } from '../connections/connections.ts';
import type { ConnectionRecord } from '../connections/connection-store.ts';
import type { OAuthChallenge } from '../oauth/oauth-state.ts';
import type { OAuthTokenKeeper } from '../oauth/oauth-tokens.ts';
import type { UpstreamSession } from './upstream-session.ts';

/**
 * What the gateway learns about a connection from its traffic, written down: connected (with
 * the server's self-description) when the upstream answered, an error status when it could
 * not be reached or used, auth_required (or a wider scope) when it wants authorization. Every
 * path to an upstream records through this one object.
 *
 * Status writes run in the background and are logged when they fail: a call's answer never
 * waits on them. An authorization need is awaited (it still never fails the caller): the client
 * is told to authorize, and the connection must say so by the time it looks.
 */
export type ConnectionRecorder = {
  connected(connection: ConnectionRecord, session: UpstreamSession): void;
  failed(connection: ConnectionRecord, message: string): void;
  authorizationRequired(connection: ConnectionRecord, challenge: OAuthChallenge | undefined): Promise<void>;
  widerScopeRequired(connection: ConnectionRecord, challenge: OAuthChallenge): Promise<void>;
};

export type ConnectionRecorderServices = Pick<ConnectionServices, 'db' | 'changes'> & {
  oauth: Pick<OAuthTokenKeeper, 'requireAuthorization' | 'requireWiderScope'>;
  logger: Logger;
};

export function createConnectionRecorder(services: ConnectionRecorderServices): ConnectionRecorder {
  // The connection record each session was last checked against. Records are immutable and
  // cached, so the hot path (a connected connection, the same record) compares nothing.
  const checked = new WeakMap<UpstreamSession, ConnectionRecord>();

  function recordInBackground(connection: ConnectionRecord, seen: Parameters<typeof recordStatusSeenInTraffic>[2]): void {
    recordStatusSeenInTraffic(services, connection, seen).catch((error: unknown) =>
      services.logger.warn({ err: { message: (error as Error).message } }, 'could not record connection status'),
    );
  }

  function logged(recording: Promise<void>): Promise<void> {
    return recording.catch((error: unknown) =>
      services.logger.warn({ err: { message: (error as Error).message } }, 'could not record authorization need'),
    );
  }

  return {
    connected(connection, session) {
      if (connection.status.state === 'connected' && connection.serverInfo !== null && checked.get(session) === connection) return;
      checked.set(session, connection);
      // recordStatusSeenInTraffic writes only what changed (a server upgraded under a new session, say).
      recordInBackground(connection, { status: { state: 'connected' }, serverInfo: session.serverInfo });
    },
    failed(connection, message) {
      recordInBackground(connection, { status: { state: 'error', message } });
    },
    authorizationRequired: (connection, challenge) => logged(services.oauth.requireAuthorization(connection, challenge)),
    widerScopeRequired: (connection, challenge) => logged(services.oauth.requireWiderScope(connection, challenge)),
  };
}
