import { createHash } from 'node:crypto';
import type { Db } from '../../db/open.ts';
import {
  clientSessionsUsedWithin,
  deleteAbandonedClientSessions,
  deleteClientSession,
  findClientSession,
  insertClientSession,
  touchClientSessions,
} from '../../db/queries/client-sessions.ts';
import type { Keyring } from '../crypto/keyring.ts';

/** Who a client's own session belongs to, and the connection as it stood when it opened. */
export type ClientSessionBinding = { caller: string; namespace: string; connectionId: string; incarnation: string; revision: number };

/** What any replica needs to speak on the session's upstream session. */
export type StoredClientSession = ClientSessionBinding & { upstreamSessionId: string; protocolVersion: string };

/**
 * Clients' own MCP sessions in the database, so that every replica finds them (docs/mcp-sessions.md,
 * "Several replicas"). Rows are keyed by a hash of the session id; the upstream's session id is
 * sealed by the keyring, bound to that row. Use is stamped in batches off the request path: at
 * most once per `touchEveryMs` per session, and every batch while a session is held (a GET stream).
 */
export type ClientSessionRecords = {
  save(id: string, session: StoredClientSession): Promise<void>;
  /** The session, if it is stored and its seal opens here. */
  find(id: string): Promise<StoredClientSession | undefined>;
  /** Deletes the record; false when it was gone already (another replica ended the session). */
  remove(id: string): Promise<boolean>;
  /** Marks the session used now: written with the next batch. */
  used(id: string): void;
  /** Marks the session used until the returned function is called. */
  hold(id: string): () => void;
  /** Those of the session ids used, on any replica, within the last `ms`. */
  usedWithin(ids: readonly string[], ms: number): Promise<Set<string>>;
  /** Deletes records unused for longer than `ms` (their replica died without ending them). */
  pruneAbandoned(ms: number): Promise<void>;
  /** How often use is written to the database. */
  readonly touchEveryMs: number;
  close(): Promise<void>;
};

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** The keyring context of a row's sealed upstream session id: it opens only in that row. */
export function upstreamSessionContextOf(idHash: string): string {
  return `client_session:${idHash}`;
}

export function createClientSessionRecords(options: { db: Db; keyring: Keyring; touchEveryMs: number; onError?: (error: unknown) => void }): ClientSessionRecords {
  const { db, keyring } = options;
  const usedSinceFlush = new Set<string>();
  const held = new Map<string, number>();

  async function flush(): Promise<void> {
    const hashes = new Set([...usedSinceFlush, ...held.keys()]);
    usedSinceFlush.clear();
    await touchClientSessions(db, [...hashes]);
  }
  const timer = setInterval(() => void flush().catch((error: unknown) => options.onError?.(error)), options.touchEveryMs);
  timer.unref();

  return {
    touchEveryMs: options.touchEveryMs,
    async save(id, session) {
      const idHash = hashSessionId(id);
      await insertClientSession(db, {
        idHash,
        caller: session.caller,
        namespace: session.namespace,
        connectionId: session.connectionId,
        incarnation: session.incarnation,
        revision: session.revision,
        sealedUpstreamSession: keyring.seal(session.upstreamSessionId, upstreamSessionContextOf(idHash)),
        protocolVersion: session.protocolVersion,
      });
    },
    async find(id) {
      const row = await findClientSession(db, hashSessionId(id));
      if (!row) return undefined;
      const opened = keyring.open(row.sealedUpstreamSession, upstreamSessionContextOf(row.idHash));
      if (!opened.ok) return undefined;
      const { caller, namespace, connectionId, incarnation, revision, protocolVersion } = row;
      return { caller, namespace, connectionId, incarnation, revision, protocolVersion, upstreamSessionId: opened.plaintext };
    },
    async remove(id) {
      const idHash = hashSessionId(id);
      usedSinceFlush.delete(idHash);
      held.delete(idHash);
      return deleteClientSession(db, idHash);
    },
    used(id) {
      usedSinceFlush.add(hashSessionId(id));
    },
    hold(id) {
      const idHash = hashSessionId(id);
      held.set(idHash, (held.get(idHash) ?? 0) + 1);
      usedSinceFlush.add(idHash);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (held.get(idHash) ?? 1) - 1;
        if (left <= 0) held.delete(idHash);
        else held.set(idHash, left);
        usedSinceFlush.add(idHash);
      };
    },
    async usedWithin(ids, ms) {
      const byHash = new Map(ids.map((id) => [hashSessionId(id), id]));
      const recent = await clientSessionsUsedWithin(db, [...byHash.keys()], ms);
      return new Set([...recent].map((hash) => byHash.get(hash)!));
    },
    pruneAbandoned: (ms) => deleteAbandonedClientSessions(db, ms),
    async close() {
      clearInterval(timer);
      await flush().catch((error: unknown) => options.onError?.(error));
    },
  };
}
