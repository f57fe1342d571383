import { randomBytes } from 'node:crypto';
import { AppError } from '../../errors.ts';
import type { Principal } from '../auth/authenticate.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import { connectionKey, type ConnectionRecord } from '../connections/connection-store.ts';
import { hashSessionId, type ClientSessionRecords } from './client-session-records.ts';
import type { ClientDeclaration, SessionWire, UpstreamSession } from './upstream-session.ts';

/**
 * One client's own MCP session (2025 era): the client initialized, and what is per-session in
 * MCP (log level, subscriptions, the server's requests and notifications) belongs to it alone,
 * on an upstream session opened for it. Bound to whoever created it and to the connection as
 * it stood then.
 */
export type ClientSession = {
  /** The `mcp-session-id` the client sends: random, unguessable. */
  readonly id: string;
  /** How to speak on its upstream session (opened here, or by another replica: replica-sessions.ts). */
  readonly upstream: SessionWire;
  /** Aborted when the session ends: its GET stream stops with it. */
  readonly ended: AbortSignal;
  /** Aborted when the session ends or the server begins to stop: its GET stream must not hold up a shutdown. */
  readonly streamsEnd: AbortSignal;
  /** Marks the session in use (never idle) until the returned function is called. */
  hold(): () => void;
  /** Ends the session, on every replica, and terminates its upstream session. */
  end(): Promise<void>;
};

export type OpenedClientSession = { ok: true; session: ClientSession; upstream: UpstreamSession } | { ok: false; reason: 'full' | 'caller_full' };

/** The shape of the ids Switchboard issues (`<process mark>.<random>`): any other id is stateless traffic. */
export function isClientSessionId(id: string): boolean {
  return /^[0-9a-f]{12}\.[A-Za-z0-9_-]{32}$/.test(id);
}

export type ClientSessions = {
  /** Whether this process issued the id (it may have ended since). */
  issuedHere(id: string): boolean;
  open(connection: ConnectionRecord, principal: Principal, declared: ClientDeclaration): Promise<OpenedClientSession>;
  /** The live session with this id, if the caller created it for this connection as it stands now. */
  find(id: string, connection: ConnectionRecord, principal: Principal): ClientSession | undefined;
  /** Ends the session (on every replica) and its upstream session (terminated upstream). */
  end(id: string): Promise<void>;
  /**
   * Ends every GET stream now (the sessions live on): a shutdown waits for requests in flight,
   * and a stream would never finish by itself. Its client reconnects, to another replica if need be.
   */
  stopStreams(): void;
  /** Ends every session unused for longer than the idle time (runs on a timer too). */
  sweepIdle(): Promise<void>;
  close(): Promise<void>;
  readonly size: number;
};

export type ClientSessionOptions = {
  idleMs: number;
  /** Live sessions in this process, and per caller (API key or service token). */
  maxSessions: number;
  maxPerCaller: number;
  openUpstream(connection: ConnectionRecord, declared: ClientDeclaration): Promise<UpstreamSession>;
  /** Where sessions are recorded for the other replicas; without it, they live in this process alone. */
  records?: ClientSessionRecords;
  changes?: ChangeFeed;
  now?: () => number;
};

type Entry = {
  session: ClientSession;
  upstream: UpstreamSession;
  idHash: string;
  caller: string;
  account: string;
  connection: string;
  incarnation: string;
  revision: number;
  holds: number;
  lastUsedAt: number;
  abort: AbortController;
};

export function createClientSessions(options: ClientSessionOptions): ClientSessions {
  const now = options.now ?? Date.now;
  // Ids carry this process's mark, so an id it issued is known as such after the session ended
  // (answered 404: the client initializes again) while any other id stays stateless traffic.
  const mark = `${randomBytes(6).toString('hex')}.`;
  const entries = new Map<string, Entry>();
  const opening = new Map<string, number>();
  const stopping = new AbortController();
  let openingTotal = 0;

  const callerCount = (caller: string) => {
    let count = opening.get(caller) ?? 0;
    for (const entry of entries.values()) if (entry.caller === caller) count++;
    return count;
  };

  async function end(id: string): Promise<void> {
    const entry = entries.get(id);
    if (!entry) return;
    entries.delete(id);
    entry.abort.abort();
    const told = forgetEverywhere(entry);
    await entry.upstream.close({ terminate: true });
    await told;
  }

  /** Deletes the record and tells the other replicas, so their handles on the session go too. */
  async function forgetEverywhere(entry: Entry): Promise<void> {
    if (!options.records) return;
    try {
      await options.records.remove(entry.session.id);
      await options.changes?.announce({ kind: 'client_session_ended', idHash: entry.idHash });
    } catch {
      // The record outlives the session until it is found stale or pruned as abandoned; the
      // upstream session is terminated regardless, so any replica using the record gets 404.
    }
  }

  /** Another replica ended the session and terminated its upstream session: only the handle here goes. */
  function dropEndedElsewhere(idHash: string): void {
    for (const [id, entry] of entries) {
      if (entry.idHash !== idHash) continue;
      entries.delete(id);
      entry.abort.abort();
      void entry.upstream.close({ terminate: false });
    }
  }

  function endWhere(matches: (entry: Entry) => boolean): void {
    for (const [id, entry] of entries) if (matches(entry)) void end(id);
  }

  options.changes?.subscribe({
    onChange(change) {
      if (change.kind === 'connection') {
        const key = connectionKey(change);
        endWhere((entry) => entry.connection === key && entry.revision !== change.revision);
      } else if (change.kind === 'namespace') {
        endWhere((entry) => entry.connection.startsWith(`${change.name}/`));
      } else if (change.kind === 'client_session_ended') {
        dropEndedElsewhere(change.idHash);
      }
    },
    // Every lookup checks the connection as it stands: a missed notification costs nothing.
    onReset() {},
  });

  /** Ends the idle session (nothing in flight, no open stream) among `matching` unused the longest; false when none is idle. */
  function evictLeastRecentlyUsed(matching: (entry: Entry) => boolean): boolean {
    let oldest: [string, Entry] | undefined;
    for (const pair of entries) {
      if (pair[1].holds === 0 && matching(pair[1]) && (!oldest || pair[1].lastUsedAt < oldest[1].lastUsedAt)) oldest = pair;
    }
    if (!oldest) return false;
    // end() forgets the session at once; the upstream is told in the background.
    void end(oldest[0]).catch(() => {});
    return true;
  }

  /**
   * At the process limit, the account holding the most sessions (with one idle) makes room. The
   * per-caller limit bounds no tenant (every API key and every service token, offline children
   * included, is a caller): ending the oldest session of anyone would let one tenant end every
   * other's by opening sessions.
   */
  function evictForProcess(): boolean {
    const held = new Map<string, number>();
    for (const entry of entries.values()) held.set(entry.account, (held.get(entry.account) ?? 0) + 1);
    const heaviestFirst = [...held].sort((x, y) => y[1] - x[1]).map(([account]) => account);
    return heaviestFirst.some((account) => evictLeastRecentlyUsed((entry) => entry.account === account));
  }

  async function sweepIdle(): Promise<void> {
    const cutoff = now() - options.idleMs;
    const idle = [...entries].filter(([, entry]) => entry.holds === 0 && entry.lastUsedAt < cutoff).map(([id]) => id);
    const records = options.records;
    if (records && idle.length > 0) {
      // Idle here may be busy on another replica (its POSTs or its GET stream land there): only
      // the database knows. When it cannot be asked, nothing is ended this time.
      const usedElsewhere = await records.usedWithin(idle, options.idleMs).catch(() => new Set(idle));
      for (const id of usedElsewhere) {
        const entry = entries.get(id);
        if (entry) entry.lastUsedAt = now();
      }
      await Promise.all(idle.filter((id) => !usedElsewhere.has(id)).map(end));
    } else {
      await Promise.all(idle.map(end));
    }
    // Records of a replica that died without ending its sessions: well past any use, and never
    // one this replica holds (those are stamped as they are used).
    await records?.pruneAbandoned(options.idleMs + 4 * records.touchEveryMs).catch(() => {});
  }
  const sweep = setInterval(() => void sweepIdle(), Math.max(1_000, Math.min(options.idleMs / 2, 60_000)));
  sweep.unref();

  return {
    issuedHere: (id) => id.startsWith(mark),
    async open(connection, principal, declared) {
      const caller = callerOf(principal);
      // At a limit, the session unused the longest makes room, when one is idle: clients that
      // initialize and never DELETE (most SDK scripts) would otherwise lock their caller out
      // until the idle time ends theirs. Its client gets 404 next time and initializes again.
      if (callerCount(caller) >= options.maxPerCaller && !evictLeastRecentlyUsed((entry) => entry.caller === caller)) {
        return { ok: false, reason: 'caller_full' };
      }
      if (entries.size + openingTotal >= options.maxSessions && !evictForProcess()) return { ok: false, reason: 'full' };
      opening.set(caller, (opening.get(caller) ?? 0) + 1);
      openingTotal++;
      let upstream: UpstreamSession;
      try {
        upstream = await options.openUpstream(connection, declared);
      } finally {
        openingTotal--;
        const left = opening.get(caller)! - 1;
        if (left === 0) opening.delete(caller);
        else opening.set(caller, left);
      }
      const abort = new AbortController();
      const id = `${mark}${randomBytes(24).toString('base64url')}`;
      if (options.records) {
        try {
          await options.records.save(id, {
            caller,
            namespace: connection.namespace,
            connectionId: connection.id,
            incarnation: connection.incarnation,
            revision: connection.revision,
            // A 2025-era session always has one (the pool opens client sessions for that era only).
            upstreamSessionId: upstream.sessionId ?? '',
            protocolVersion: upstream.protocolVersion,
          });
        } catch {
          await upstream.close({ terminate: true });
          // The database failed, not the upstream: answered 503 (retry), never recorded on the connection.
          throw new AppError('service_unavailable', 'Could not record the MCP session: try again');
        }
      }
      const entry: Entry = {
        upstream,
        idHash: hashSessionId(id),
        caller,
        account: principal.accountId,
        connection: connectionKey(connection),
        incarnation: connection.incarnation,
        revision: connection.revision,
        holds: 0,
        lastUsedAt: now(),
        abort,
        session: {
          id,
          upstream,
          ended: abort.signal,
          streamsEnd: AbortSignal.any([abort.signal, stopping.signal]),
          hold() {
            entry.holds++;
            entry.lastUsedAt = now();
            const releaseRecord = options.records?.hold(id);
            let released = false;
            return () => {
              if (released) return;
              released = true;
              entry.holds--;
              entry.lastUsedAt = now();
              releaseRecord?.();
            };
          },
          end: () => end(id),
        },
      };
      entries.set(id, entry);
      return { ok: true, session: entry.session, upstream };
    },
    find(id, connection, principal) {
      const entry = entries.get(id);
      if (!entry || entry.caller !== callerOf(principal) || entry.connection !== connectionKey(connection)) return undefined;
      // The connection was deleted and created again, or changed its URL or credentials: the
      // upstream session belongs to what it was.
      if (entry.incarnation !== connection.incarnation || entry.revision !== connection.revision) {
        void end(id);
        return undefined;
      }
      entry.lastUsedAt = now();
      options.records?.used(id);
      return entry.session;
    },
    end,
    stopStreams: () => stopping.abort(),
    sweepIdle,
    async close() {
      clearInterval(sweep);
      await Promise.all([...entries.keys()].map(end));
    },
    get size() {
      return entries.size;
    },
  };
}

/** Who created a session: the API key, or the service token (a token and its children are different callers). */
export function callerOf(principal: Principal): string {
  return principal.kind === 'account' ? `key:${principal.apiKeyId}` : `token:${principal.tokenIds.join('/')}`;
}
