import { EventEmitter } from 'node:events';
import type { Logger } from '../../logger.ts';
import type { Principal } from '../auth/authenticate.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import type { ConnectionLinks } from '../connections/connection-links.ts';
import type { ConnectionRecord } from '../connections/connection-store.ts';
import type { ConnectionServices, ProbeOutcome } from '../connections/connections.ts';
import type { OAuthTokenKeeper } from '../oauth/oauth-tokens.ts';
import { createBearerPolicies } from './bearer-policy.ts';
import { createClientSessionRecords } from './client-session-records.ts';
import { createClientSessions, isClientSessionId, type ClientSession, type OpenedClientSession } from './client-sessions.ts';
import { createConnectionRecorder } from './connection-recorder.ts';
import { runSdkWork } from './gateway-call.ts';
import { createRawForwarder, type ForwardOptions, type ForwardOutcome, type GatewayFailure, type StreamOutcome } from './gateway-forward.ts';
import type { OutgoingMessage } from './raw-forward.ts';
import { createUpstreamHttp } from './upstream-http.ts';
import { createUpstreamPool } from './upstream-pool.ts';
import { createReplicaSessions } from './replica-sessions.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { ClientDeclaration, SessionEgress, UpstreamSession } from './upstream-session.ts';

export type { ForwardOutcome, GatewayFailure, StreamOutcome } from './gateway-forward.ts';
export type { OutgoingMessage } from './raw-forward.ts';

/**
 * The one way to an upstream, for every path (the MCP endpoint's raw forwards and GET streams,
 * REST tools, the namespace toolbox, probes). It is the only place that opens, renews and closes
 * upstream sessions, attaches and refreshes OAuth bearers, guards replies, resends after
 * keep-alive races, and records what it learns about a connection; each of those policies
 * exists once, here or in the sibling file it names:
 *
 * - HTTP pools: upstream-http.ts, one set per gateway (closed with it, never another's);
 * - sessions: upstream-pool.ts (pooled) and client-sessions.ts (a client's own), recorded for
 *   every replica (client-session-records.ts) and reached from the others (replica-sessions.ts);
 * - bearer: bearer-policy.ts, one object per connection, the SDK's AuthProvider and the raw paths' alike;
 * - renewal: session-renewal.ts, once, never for a client's own session;
 * - what is recorded: connection-recorder.ts (status, server info, authorization needs);
 * - reply guards: reply-guards.ts on the SDK transport, readSmallBody and the stream
 *   outcome's `describe` on the raw paths.
 */
export type UpstreamGateway = {
  /** The connection's pooled session: its protocol era decides how a message is framed. */
  session(connection: ConnectionRecord): Promise<UpstreamSession>;
  /** The pooled session an `initialize` is answered from, the connection recorded as connected (the handshake worked). */
  handshake(connection: ConnectionRecord): Promise<UpstreamSession>;
  /** Sends a client's message upstream, on its own session or the pooled one. Throws only AppError (the OAuth server failed). */
  forward(connection: ConnectionRecord, message: OutgoingMessage, options: ForwardOptions): Promise<ForwardOutcome>;
  /** Opens a client's own session's standalone stream (GET). Throws only once `signal` aborted. */
  openStream(connection: ConnectionRecord, own: ClientSession, lastEventId: string | undefined, signal: AbortSignal): Promise<StreamOutcome>;
  /**
   * Answers a request the upstream sent a client that cannot be asked (JSON only), on the
   * session it came from, in the background.
   */
  decline(connection: ConnectionRecord, own: ClientSession | undefined, json: unknown): void;
  /** What a failure to reach or use the upstream means for the client, recorded on the connection. */
  failure(connection: ConnectionRecord, error: unknown): Promise<GatewayFailure>;
  /**
   * Runs `work` with the SDK client on the connection's pooled session, the way every call
   * Switchboard makes itself goes (REST tools, the toolbox): not at all while the connection
   * needs setup; once more on a fresh session when the upstream forgot the old one. Failures
   * come out as AppError.
   */
  call<T>(connection: ConnectionRecord, work: (session: UpstreamSession) => Promise<T>): Promise<T>;
  probe(connection: ConnectionRecord): Promise<ProbeOutcome>;
  /** A session of the client's own (2025 era), declaring upstream what the client declared. */
  openClientSession(connection: ConnectionRecord, principal: Principal, declared: ClientDeclaration): Promise<OpenedClientSession>;
  /**
   * The live client session with this id, opened here or by another replica, if the caller
   * created it for this connection as it stands now.
   */
  findClientSession(id: string, connection: ConnectionRecord, principal: Principal): Promise<ClientSession | undefined>;
  /** Whether the id has the shape of the ids Switchboard issues: any other id is stateless traffic. */
  isClientSessionId(id: string): boolean;
  /** Ends the session on every replica and terminates its upstream session. */
  endClientSession(session: ClientSession): Promise<void>;
  /** Ends every client's GET stream now (a shutdown begins; the sessions live on). */
  stopStreams(): void;
  /** Aborted by `stopStreams()`: what other never-ending streams (2026 listen streams) end with. */
  readonly streamsEnd: AbortSignal;
  /** Ends this gateway's sessions (terminated upstream) and closes its HTTP pools. */
  close(): Promise<void>;
};

export type UpstreamGatewayDeps = Pick<ConnectionServices, 'db'> & {
  config: {
    upstreamTimeoutMs: number;
    toolListTtlMs: number;
    maxUpstreamResponseBytes: number;
    mcpSessions: { idleMs: number; maxSessions: number; maxPerCaller: number };
  };
  changes: ChangeFeed;
  /** Seals the upstream session ids of clients' sessions in their records. */
  keyring: Keyring;
  /** Every upstream request goes out through it: only to allowed addresses. */
  egress: SessionEgress;
  logger: Logger;
  oauth: OAuthTokenKeeper;
  links: Pick<ConnectionLinks, 'urlFor'>;
  /** The connection as it stands now (tokens change without a new revision). */
  latest(connection: ConnectionRecord): Promise<ConnectionRecord | undefined>;
  /** Pooled sessions unused for this long are ended. */
  sessionIdleMs: number;
};

export function createUpstreamGateway(deps: UpstreamGatewayDeps): UpstreamGateway {
  const { config } = deps;
  const http = createUpstreamHttp();
  const bearers = createBearerPolicies({ oauth: deps.oauth, latest: deps.latest, changes: deps.changes });
  const recorder = createConnectionRecorder(deps);
  const pool = createUpstreamPool(deps.changes, {
    timeoutMs: config.upstreamTimeoutMs,
    toolListTtlMs: config.toolListTtlMs,
    maxReplyBytes: config.maxUpstreamResponseBytes,
    idleMs: deps.sessionIdleMs,
    egress: deps.egress,
    logger: deps.logger,
    bearer: (connection) => bearers.for(connection),
  });
  const streamsStop = new AbortController();
  const records = createClientSessionRecords({
    db: deps.db,
    keyring: deps.keyring,
    // Well within the idle time, so a replica about to expire a session sees use elsewhere.
    touchEveryMs: Math.max(100, Math.min(30_000, config.mcpSessions.idleMs / 4)),
    onError: (error) => deps.logger.warn({ err: { message: (error as Error).message } }, 'could not record the use of client sessions'),
  });
  const clientSessions = createClientSessions({
    ...config.mcpSessions,
    openUpstream: (connection, declared) => pool.openForClient(connection, declared),
    records,
    changes: deps.changes,
  });
  const raw = createRawForwarder({ http, pool, bearers, recorder, timeoutMs: config.upstreamTimeoutMs });
  const replicaSessions = createReplicaSessions({ records, changes: deps.changes, egress: deps.egress, terminate: raw.terminate });

  return {
    session: (connection) => pool.session(connection),
    async handshake(connection) {
      const session = await pool.session(connection);
      recorder.connected(connection, session);
      return session;
    },
    forward: raw.forward,
    openStream: raw.openStream,
    decline(connection, own, json) {
      raw
        .exchange(connection, { json }, own, new EventEmitter())
        .then(({ answer }) => {
          if (answer.kind === 'stream') answer.response.body.on('error', () => {}).resume();
        })
        .catch((error: unknown) => deps.logger.warn({ err: { message: (error as Error).message } }, 'could not decline a request of the upstream'));
    },
    failure: raw.failure,
    call: (connection, work) => runSdkWork({ pool, recorder, links: deps.links, failure: raw.failure, timeoutMs: config.upstreamTimeoutMs }, connection, work),
    probe: (connection) => pool.probe(connection),
    openClientSession: (connection, principal, declared) => clientSessions.open(connection, principal, declared),
    async findClientSession(id, connection, principal) {
      const local = clientSessions.find(id, connection, principal);
      if (local) return local;
      // Issued here and ended since: no other replica has it.
      if (clientSessions.issuedHere(id)) return undefined;
      return replicaSessions.find(id, connection, principal);
    },
    isClientSessionId,
    endClientSession: (session) => session.end(),
    stopStreams() {
      streamsStop.abort();
      clientSessions.stopStreams();
      replicaSessions.stopStreams();
    },
    streamsEnd: streamsStop.signal,
    async close() {
      replicaSessions.close();
      await clientSessions.close();
      await records.close();
      await pool.close();
      await http.close();
    },
  };
}
