import { AppError } from '../../errors.ts';
import type { ConnectionRecord } from '../connections/connection-store.ts';
import { sendWithBearer, type BearerPolicies } from './bearer-policy.ts';
import type { ClientSession } from './client-sessions.ts';
import type { ConnectionRecorder } from './connection-recorder.ts';
import { deleteSession, getSessionStream, postMessage, type OutgoingMessage, type RawExchange, type UpstreamAnswer } from './raw-forward.ts';
import { withRenewalOnce } from './session-renewal.ts';
import { challengeOf, describeUpstreamFailure, isSessionLoss } from './upstream-failure.ts';
import { abortHeard, type AbortSource, type UpstreamHttp, type UpstreamResponse } from './upstream-http.ts';
import type { UpstreamPool } from './upstream-pool.ts';
import type { SessionWire, UpstreamSession } from './upstream-session.ts';

/** Why the upstream could not serve a message, already recorded on the connection where it says something about it. */
export type GatewayFailure =
  | { kind: 'authorization_required' }
  /** `status`: the upstream's own HTTP status (5xx); none when it could not be reached or used. */
  | { kind: 'failed'; message: string; status?: number };

/**
 * What the upstream answered a forwarded message: a response still to be streamed (with how a
 * failure mid-stream reads), a small one read whole, or why there is none.
 */
export type ForwardOutcome =
  | { kind: 'stream'; response: UpstreamResponse; session: SessionWire; describe(error: unknown): string }
  | { kind: 'read'; status: number; contentType: string | undefined; body: Buffer; session: SessionWire }
  | GatewayFailure;

export type ForwardOptions = {
  /** The client's own session, when it has one (never renewed behind its back). */
  own?: ClientSession;
  /** The longest silence within the answer's body when not the upstream timeout: 0 for none. */
  bodyTimeoutMs?: number;
  /** The client went away: the upstream request is abandoned. */
  signal: AbortSource;
};

export type StreamOutcome =
  | { kind: 'stream'; response: UpstreamResponse; describe(error: unknown): string }
  | { kind: 'authorization_required' }
  | { kind: 'failed'; message: string };

type Deps = {
  http: UpstreamHttp;
  pool: Pick<UpstreamPool, 'session' | 'renew'>;
  bearers: BearerPolicies;
  recorder: ConnectionRecorder;
  timeoutMs: number;
};

/** The raw paths of the gateway (gateway.ts): a client's message as bytes (POST), and its session's stream (GET). */
export function createRawForwarder(deps: Deps) {
  const { recorder, timeoutMs } = deps;

  /** How a failure mid-stream reads: the host and what happened, never the path or what was sent. */
  const describer = (url: URL, otherwise: string) => (error: unknown) => {
    const failure = describeUpstreamFailure(error, url, timeoutMs);
    return failure.kind === 'failed' ? failure.message : otherwise;
  };

  /**
   * Sends the message with the connection's bearer, on the client's own session or the pooled
   * one; renewed once when the upstream forgot a pooled session, the bearer refreshed once when
   * refused (one refresh across all processes), and the message sent once more.
   */
  async function exchange(connection: ConnectionRecord, message: OutgoingMessage, own: ClientSession | undefined, signal: AbortSource, bodyTimeoutMs?: number) {
    const bearer = deps.bearers.for(connection);
    const raw: RawExchange = { http: deps.http, timeoutMs, signal, ...(bodyTimeoutMs !== undefined ? { bodyTimeoutMs } : {}) };
    const send = (session: SessionWire): Promise<UpstreamAnswer> =>
      sendWithBearer(bearer, connection, (token) => postMessage(session, connection, message, token, raw), {
        refused: (answer) => answer.kind === 'auth_required',
        // Its body was read already.
        discard: () => {},
      });
    const { session, result: answer } = await withRenewalOnce(deps.pool, connection, own?.upstream, send, {
      answered: (answer, session) => answer.kind === 'read' && session.sessionId !== undefined && isSessionLoss(answer.status, answer.body.toString('utf8')),
      failed: () => false,
    });
    return { session, answer };
  }

  async function failure(connection: ConnectionRecord, error: unknown): Promise<GatewayFailure> {
    const url = new URL(connection.mcpUrl);
    const failure = describeUpstreamFailure(error, url, timeoutMs);
    if (failure.kind === 'auth_required') {
      await recorder.authorizationRequired(connection, undefined);
      return { kind: 'authorization_required' };
    }
    if (failure.kind === 'insufficient_scope') {
      await recorder.widerScopeRequired(connection, failure.challenge);
      return { kind: 'authorization_required' };
    }
    const message = failure.kind === 'failed' ? failure.message : `${url.host} keeps losing the session`;
    recorder.failed(connection, message);
    return { kind: 'failed', message };
  }

  async function forward(connection: ConnectionRecord, message: OutgoingMessage, options: ForwardOptions): Promise<ForwardOutcome> {
    let forwarded: Awaited<ReturnType<typeof exchange>>;
    const clientLeft = abortHeard(options.signal);
    try {
      forwarded = await exchange(connection, message, options.own, options.signal, options.bodyTimeoutMs);
    } catch (error) {
      if (error instanceof AppError) throw error;
      // The client hung up, and its request was abandoned: that says nothing about the upstream.
      if (clientLeft()) return { kind: 'failed', message: 'The client went away before the answer' };
      return failure(connection, error);
    } finally {
      clientLeft.stop();
    }
    const { session, answer } = forwarded;
    // The upstream forgot the client's session: so does Switchboard, and its 404 tells the client to initialize again.
    if (options.own && answer.kind === 'read' && answer.status === 404) void options.own.end().catch(() => {});
    if (answer.kind === 'auth_required') {
      // The connection becomes auth_required; the client gets the link where the end user authorizes.
      await recorder.authorizationRequired(connection, answer.challenge);
      return { kind: 'authorization_required' };
    }
    if (answer.kind === 'insufficient_scope') {
      await recorder.widerScopeRequired(connection, answer.challenge);
      return { kind: 'authorization_required' };
    }
    const status = answer.kind === 'read' ? answer.status : answer.response.statusCode;
    if (status >= 500) {
      if (answer.kind === 'stream') answer.response.body.on('error', () => {}).resume();
      return { kind: 'failed', message: `${session.url.host} failed with HTTP ${status}`, status };
    }
    // A session another replica opened says nothing of the server's identity: that replica recorded it.
    if (status < 300 && isOpenedHere(session)) recorder.connected(connection, session);
    if (answer.kind === 'read') return { ...answer, session };
    return { kind: 'stream', response: answer.response, session, describe: describer(session.url, `${session.url.host} closed the connection before answering`) };
  }

  async function openStream(connection: ConnectionRecord, own: ClientSession, lastEventId: string | undefined, signal: AbortSignal): Promise<StreamOutcome> {
    const session = own.upstream;
    const host = session.url.host;
    const bearer = deps.bearers.for(connection);
    const raw: RawExchange = { http: deps.http, timeoutMs, signal };
    try {
      const response = await sendWithBearer(bearer, connection, (token) => getSessionStream(session, connection, token, lastEventId, raw), {
        refused: (answer) => answer.statusCode === 401,
        discard: (answer) => void answer.body.on('error', () => {}).resume(),
      });
      if (response.statusCode === 401 || response.statusCode === 403) {
        response.body.on('error', () => {}).resume();
        const challenge = challengeOf(new Response(null, { headers: { 'www-authenticate': String(response.headers['www-authenticate'] ?? '') } }));
        // As on a POST: the end user must authorize (again, or a wider scope), and the connection says so.
        if (response.statusCode === 401) {
          await recorder.authorizationRequired(connection, challenge);
          return { kind: 'authorization_required' };
        }
        if (challenge.error === 'insufficient_scope') {
          await recorder.widerScopeRequired(connection, challenge);
          return { kind: 'authorization_required' };
        }
        return { kind: 'failed', message: `${host} refused the session's stream (HTTP ${response.statusCode})` };
      }
      return { kind: 'stream', response, describe: describer(session.url, `${host} closed the stream`) };
    } catch (error) {
      if (signal.aborted) throw error;
      return { kind: 'failed', message: describer(session.url, `${host} refused the session's stream`)(error) };
    }
  }

  /**
   * Terminates a client's upstream session that this process holds no SDK client for (another
   * replica opened it), with the connection's bearer; bounded like every request, and quiet: the
   * session is over for Switchboard whatever the upstream answers.
   */
  async function terminate(connection: ConnectionRecord, session: SessionWire): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const token = await deps.bearers.for(connection).token(connection);
      await deleteSession(session, connection, token, { http: deps.http, timeoutMs, signal });
    } catch {
      // Unreachable or refused: the upstream's own expiry ends the session.
    }
  }

  return { exchange, failure, forward, openStream, terminate };
}

function isOpenedHere(session: SessionWire): session is UpstreamSession {
  return 'serverInfo' in session;
}
