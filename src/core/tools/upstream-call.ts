import { ProtocolError } from '@modelcontextprotocol/client';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { ConnectionServices } from '../connections/connections.ts';
import { noteObservedStatus } from '../connections/connections.ts';
import type { ConnectionRecord } from '../connections/connection-store.ts';
import { describeUpstreamFailure } from '../upstream/upstream-failure.ts';
import { replyFailureOf } from '../upstream/reply-guards.ts';
import type { OAuthTokenKeeper } from '../oauth/oauth-tokens.ts';
import type { UpstreamPool } from '../upstream/upstream-pool.ts';
import type { UpstreamSession } from '../upstream/upstream-session.ts';

export type UpstreamCallServices = Pick<ConnectionServices, 'db' | 'changes' | 'links'> & {
  upstreams: UpstreamPool;
  oauth: OAuthTokenKeeper;
  config: { upstreamTimeoutMs: number };
  logger: Logger;
};

/**
 * Runs `work` on the connection's upstream session, the way every call Switchboard makes
 * itself goes: not at all while the connection needs setup; once more on a fresh session
 * when the upstream forgot the old one; recording what the outcome says about the connection.
 */
export async function withUpstreamSession<T>(
  services: UpstreamCallServices,
  connection: ConnectionRecord,
  work: (session: UpstreamSession) => Promise<T>,
): Promise<T> {
  refuseWhileNeedingSetup(services, connection);
  const url = new URL(connection.mcpUrl);
  let session: UpstreamSession | undefined;
  try {
    session = await services.upstreams.session(connection);
    let result: T;
    try {
      result = await work(session);
    } catch (error) {
      if (describeUpstreamFailure(error, url, services.config.upstreamTimeoutMs).kind !== 'session_lost') throw error;
      session = await services.upstreams.renew(connection, session);
      result = await work(session);
    }
    observe(services, connection, { status: { state: 'connected' }, serverInfo: session.serverInfo });
    return result;
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (error instanceof ProtocolError && !replyFailureOf(error)) {
      // The upstream answered, with a JSON-RPC error: the connection itself works.
      if (session) observe(services, connection, { status: { state: 'connected' }, serverInfo: session.serverInfo });
      throw new AppError(error.code === -32602 ? 'validation_error' : 'bad_gateway', `The MCP server answered: ${error.message}`);
    }
    const failure = describeUpstreamFailure(error, url, services.config.upstreamTimeoutMs);
    if (failure.kind === 'auth_required' || failure.kind === 'insufficient_scope') {
      const recorded = failure.kind === 'auth_required'
        ? services.oauth.requireAuthorization(connection, undefined)
        : services.oauth.requireWiderScope(connection, failure.challenge);
      await recorded.catch((caught: unknown) =>
        services.logger.warn({ err: { message: (caught as Error).message } }, 'could not record authorization need'),
      );
      throw needsAuthorization(services, connection);
    }
    const message = failure.kind === 'failed' ? failure.message : `${url.host} keeps losing the session`;
    observe(services, connection, { status: { state: 'error', message } });
    throw new AppError('bad_gateway', message);
  }
}

function needsAuthorization(services: Pick<UpstreamCallServices, 'links'>, connection: ConnectionRecord): AppError {
  return new AppError(
    'conflict',
    `Connection "${connection.id}" needs authorization before its tools can be used: send the end user to ${services.links.urlFor(connection)}`,
  );
}

export function refuseWhileNeedingSetup(services: Pick<UpstreamCallServices, 'links'>, connection: ConnectionRecord): void {
  const { status, id } = connection;
  if (status.state === 'auth_required') throw needsAuthorization(services, connection);
  if (status.state === 'input_required') {
    const missing = [...status.missing.headers.map((h) => `header ${h}`), ...status.missing.query.map((q) => `query parameter ${q}`)];
    throw new AppError('conflict', `Connection "${id}" needs configuration first: ${missing.join(', ') || 'see its status'}`);
  }
}

/** Records the outcome in the background: the caller's answer does not wait on it. */
function observe(services: UpstreamCallServices, connection: ConnectionRecord, observed: Parameters<typeof noteObservedStatus>[2]): void {
  noteObservedStatus(services, connection, observed).catch((error: unknown) =>
    services.logger.warn({ err: { message: (error as Error).message } }, 'could not record connection status'),
  );
}
