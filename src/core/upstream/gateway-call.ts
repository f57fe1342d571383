import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/client';
import { AppError } from '../../errors.ts';
import type { ConnectionLinks } from '../connections/connection-links.ts';
import type { ConnectionRecord } from '../connections/connection-store.ts';
import type { ConnectionRecorder } from './connection-recorder.ts';
import type { GatewayFailure } from './gateway-forward.ts';
import { replyFailureOf } from './reply-guards.ts';
import { withRenewalOnce } from './session-renewal.ts';
import { describeUpstreamFailure } from './upstream-failure.ts';
import type { UpstreamPool } from './upstream-pool.ts';
import type { UpstreamSession } from './upstream-session.ts';

type Deps = {
  pool: Pick<UpstreamPool, 'session' | 'renew'>;
  recorder: ConnectionRecorder;
  links: Pick<ConnectionLinks, 'urlFor'>;
  /** The gateway's one reading of a failure (gateway-forward.ts), recorded on the connection. */
  failure(connection: ConnectionRecord, error: unknown): Promise<GatewayFailure>;
  timeoutMs: number;
};

/**
 * The SDK paths of the gateway (gateway.ts `call`): `work` on the connection's pooled session,
 * not at all while the connection needs setup, renewed once when the upstream forgot the
 * session, the outcome recorded on the connection and failures given as AppError.
 */
export async function runSdkWork<T>(deps: Deps, connection: ConnectionRecord, work: (session: UpstreamSession) => Promise<T>): Promise<T> {
  refuseWhileNeedingSetup(deps, connection);
  const url = new URL(connection.mcpUrl);
  let session: UpstreamSession | undefined;
  try {
    const done = await withRenewalOnce(
      deps.pool,
      connection,
      undefined,
      work,
      { answered: () => false, failed: (error) => describeUpstreamFailure(error, url, deps.timeoutMs).kind === 'session_lost' },
      (used) => (session = used),
    );
    deps.recorder.connected(connection, done.session);
    return done.result;
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (error instanceof ProtocolError && !replyFailureOf(error)) {
      // The upstream answered, with a JSON-RPC error: the connection itself works.
      if (session) deps.recorder.connected(connection, session);
      throw new AppError(error.code === ProtocolErrorCode.InvalidParams ? 'validation_error' : 'bad_gateway', `The MCP server answered: ${error.message}`);
    }
    const failure = await deps.failure(connection, error);
    if (failure.kind === 'authorization_required') throw needsAuthorization(deps, connection);
    throw new AppError('bad_gateway', failure.message);
  }
}

function needsAuthorization(deps: Pick<Deps, 'links'>, connection: ConnectionRecord): AppError {
  return new AppError(
    'conflict',
    `Connection "${connection.id}" needs authorization before its tools can be used: send the end user to ${deps.links.urlFor(connection)}`,
  );
}

function refuseWhileNeedingSetup(deps: Pick<Deps, 'links'>, connection: ConnectionRecord): void {
  const { status, id } = connection;
  if (status.state === 'auth_required') throw needsAuthorization(deps, connection);
  if (status.state === 'input_required') {
    const missing = [...status.missing.headers.map((h) => `header ${h}`), ...status.missing.query.map((q) => `query parameter ${q}`)];
    throw new AppError('conflict', `Connection "${id}" needs configuration first: ${missing.join(', ') || 'see its status'}`);
  }
}
