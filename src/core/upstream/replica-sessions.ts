import type { Principal } from '../auth/authenticate.ts';
import { createBoundedCache } from '../cache/bounded-cache.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import { connectionKey, type ConnectionRecord } from '../connections/connection-store.ts';
import { hashSessionId, type ClientSessionRecords, type StoredClientSession } from './client-session-records.ts';
import { callerOf, type ClientSession } from './client-sessions.ts';
import type { SessionEgress, SessionWire } from './upstream-session.ts';

/**
 * Clients' own sessions that another replica opened, reached from this one (docs/mcp-sessions.md,
 * "Several replicas"). The upstream keeps the session's state, so speaking on it needs only its
 * record: the upstream URL, its session id and protocol version. A handle is cached briefly; it
 * goes when the session ends anywhere (the change feed), and its binding to the caller and the
 * connection is checked on every request, exactly as for a session opened here.
 */
export type ReplicaSessions = {
  /** The session, if its record names this caller and this connection as it stands now. */
  find(id: string, connection: ConnectionRecord, principal: Principal): Promise<ClientSession | undefined>;
  /** Ends every GET stream held on such sessions (a shutdown begins). */
  stopStreams(): void;
  close(): void;
};

export type ReplicaSessionOptions = {
  records: ClientSessionRecords;
  changes: ChangeFeed;
  egress: SessionEgress;
  /** Terminates the upstream session (DELETE) with the connection's bearer. */
  terminate(connection: ConnectionRecord, session: SessionWire): Promise<void>;
};

/**
 * A cached record. Its session is made by the first request that passes the binding check, from
 * that request's connection: the cache is keyed by the id alone, and whoever names an id first
 * (another tenant who learnt it, a client at the wrong path) must not choose the URL or the
 * connection the owner's requests are then sent to with the owner's bearer.
 */
type Handle = { stored: StoredClientSession; idHash: string; connection: string; abort: AbortController; session?: ClientSession };

/** Long enough to spare a query per request, short enough that a missed notification costs little. */
const HANDLE_CACHE_MS = 10_000;

export function createReplicaSessions(options: ReplicaSessionOptions): ReplicaSessions {
  const { records } = options;
  const handles = createBoundedCache<string, Handle>({ maxEntries: 10_000, maxAgeMs: HANDLE_CACHE_MS });
  const stopping = new AbortController();

  const dropWhere = (matches: (handle: Handle) => boolean) =>
    handles.deleteWhere((_id, handle) => {
      if (!matches(handle)) return false;
      handle.abort.abort();
      return true;
    });

  options.changes.subscribe({
    onChange(change) {
      if (change.kind === 'client_session_ended') dropWhere((handle) => handle.idHash === change.idHash);
      else if (change.kind === 'connection') dropWhere((handle) => handle.connection === connectionKey(change) && handle.stored.revision !== change.revision);
      else if (change.kind === 'namespace') dropWhere((handle) => handle.stored.namespace === change.name);
    },
    // Every lookup reloads after the cache time, and the upstream ends a terminated session's stream.
    onReset: () => handles.clear(),
  });

  function handleOf(id: string, stored: StoredClientSession): Handle {
    return { stored, idHash: hashSessionId(id), connection: connectionKey({ namespace: stored.namespace, id: stored.connectionId }), abort: new AbortController() };
  }

  /** The session on the handle, for a connection that passed the binding check (so it is the one the record names). */
  function sessionOf(id: string, handle: Handle, connection: ConnectionRecord): ClientSession {
    const { stored, idHash, abort } = handle;
    const wire: SessionWire = {
      // The record is bound to this incarnation and revision of the connection: its URL is the one the session was opened at.
      url: new URL(connection.mcpUrl),
      era: 'sessions-2025',
      protocolVersion: stored.protocolVersion,
      sessionId: stored.upstreamSessionId,
      egress: options.egress,
    };
    return {
      id,
      upstream: wire,
      ended: abort.signal,
      streamsEnd: AbortSignal.any([abort.signal, stopping.signal]),
      hold: () => records.hold(id),
      async end() {
        abort.abort();
        handles.delete(id);
        // Only the replica that deletes the record ends the session: one terminate, one notice.
        if (!(await records.remove(id))) return;
        await Promise.all([options.changes.announce({ kind: 'client_session_ended', idHash }), options.terminate(connection, wire)]);
      },
    };
  }

  return {
    async find(id, connection, principal) {
      const handle = await handles.getOrLoad(id, async () => {
        const stored = await records.find(id);
        return stored && handleOf(id, stored);
      });
      if (!handle) return undefined;
      const { stored } = handle;
      if (stored.caller !== callerOf(principal) || stored.namespace !== connection.namespace || stored.connectionId !== connection.id) return undefined;
      // The connection was deleted and created again, or changed its URL or credentials: the
      // upstream session belongs to what it was (its owner ends it, told by the change feed).
      if (stored.incarnation !== connection.incarnation || stored.revision !== connection.revision) return undefined;
      records.used(id);
      handle.session ??= sessionOf(id, handle, connection);
      return handle.session;
    },
    stopStreams: () => stopping.abort(),
    close() {
      stopping.abort();
      handles.clear();
    },
  };
}
