import type { Logger } from '../../logger.ts';
import { createBoundedCache } from '../cache/bounded-cache.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import type { ProbeOutcome } from '../connections/connections.ts';
import { connectionKey, type ConnectionRecord } from '../connections/connection-store.ts';
import { evaluateConfig, fetchConfigSchema } from './config-schema.ts';
import type { AuthProvider } from '@modelcontextprotocol/client';
import type { OAuthChallenge } from '../oauth/oauth-state.ts';
import { challengeOf, describeUpstreamFailure } from './upstream-failure.ts';
import { openUpstreamSession, type ClientDeclaration, type OpenSessionOptions, type SessionEgress, type UpstreamSession } from './upstream-session.ts';

export type UpstreamPoolOptions = {
  timeoutMs: number;
  /** How long a session's tool list is used without asking the upstream again. */
  toolListTtlMs: number;
  maxReplyBytes: number;
  /** Sessions unused for this long are ended. */
  idleMs: number;
  /** Every upstream request goes out through it: only to allowed addresses. */
  egress: SessionEgress;
  logger: Logger;
  /**
   * The connection's bearer policy (bearer-policy.ts), the SDK transport's AuthProvider: the
   * same object the gateway's raw paths use, so both attach and refresh alike.
   */
  bearer(connection: ConnectionRecord): AuthProvider;
};

/**
 * The upstream sessions this process holds, one per connection (and revision of it). A
 * session is opened once and shared by every request for that connection; when the
 * connection changes (new URL or credentials) or goes away, its session is ended, in every
 * process, through the change feed.
 *
 * A session serves only the connection it was opened for: same incarnation (a connection
 * deleted and created again under its id, even by another account, is another connection,
 * with its revision back at 1) and same revision. That holds with every notification lost;
 * the feed only ends sessions sooner.
 */
export type UpstreamPool = {
  session(connection: ConnectionRecord): Promise<UpstreamSession>;
  /** The upstream forgot `stale`: open a fresh session in its place (once, however many ask). */
  renew(connection: ConnectionRecord, stale: UpstreamSession): Promise<UpstreamSession>;
  probe(connection: ConnectionRecord): Promise<ProbeOutcome>;
  /**
   * A session of the client's own (2025 era only), declaring upstream what the client declared.
   * Not pooled: its owner (client-sessions.ts) keeps it and closes it.
   */
  openForClient(connection: ConnectionRecord, declared: ClientDeclaration): Promise<UpstreamSession>;
  close(): Promise<void>;
  readonly size: number;
};

type Entry = {
  incarnation: string;
  revision: number;
  session: Promise<UpstreamSession>;
  prior?: OpenSessionOptions['prior'];
  /** The last 401/403 challenge heard while opening: what a probe reports with auth_required. */
  challenge?: OAuthChallenge;
};

export function createUpstreamPool(changes: ChangeFeed, options: UpstreamPoolOptions): UpstreamPool {
  const entries = new Map<string, Entry>();
  // URLs known to speak the 2025 protocol: new connections to them skip the 2026 probe (one
  // round trip less). 2026 discovery results are not shared across connections.
  const sessionsEraUrls = createBoundedCache<string, true>({ maxEntries: 10_000, maxAgeMs: 60 * 60_000 });

  function end(key: string, terminate: boolean): void {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    entry.session.then((session) => session.close({ terminate }), () => {});
  }

  changes.subscribe({
    onChange(change) {
      if (change.kind === 'connection') {
        const entry = entries.get(connectionKey(change));
        // A status update keeps the revision, and the session with it.
        if (entry && entry.revision !== change.revision) end(connectionKey(change), true);
      } else if (change.kind === 'namespace') {
        for (const key of [...entries.keys()]) if (key.startsWith(`${change.name}/`)) end(key, true);
      }
    },
    // Deletions may have gone unheard: no session outlives that. Each is checked against the
    // connection on every use anyway; in-flight calls get a grace period to finish.
    onReset() {
      for (const key of [...entries.keys()]) retire(key);
    },
  });

  const retiring = new Set<Promise<UpstreamSession>>();
  function retire(key: string): void {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    retiring.add(entry.session);
    const timer = setTimeout(() => {
      retiring.delete(entry.session);
      entry.session.then((session) => session.close({ terminate: true }), () => {});
    }, options.timeoutMs);
    timer.unref();
  }

  const sweep = setInterval(() => {
    const cutoff = Date.now() - options.idleMs;
    for (const [key, entry] of entries) {
      entry.session.then((session) => {
        if (session.lastUsedAt < cutoff && entries.get(key) === entry) end(key, true);
      }, () => {});
    }
  }, Math.min(options.idleMs, 60_000));
  sweep.unref();

  function sessionOptions(connection: ConnectionRecord): OpenSessionOptions {
    const key = connectionKey(connection);
    return {
      url: new URL(connection.mcpUrl),
      credentials: connection.credentials,
      authProvider: options.bearer(connection),
      timeoutMs: options.timeoutMs,
      toolListTtlMs: options.toolListTtlMs,
      egress: options.egress,
      maxReplyBytes: options.maxReplyBytes,
      onError: (error) => options.logger.debug({ connection: key, err: { name: error.name } }, 'upstream session error'),
    };
  }

  function open(connection: ConnectionRecord, known: OpenSessionOptions['prior']): Entry {
    const key = connectionKey(connection);
    const prior = known ?? (sessionsEraUrls.get(connection.mcpUrl) ? { kind: 'legacy' as const } : undefined);
    const entry: Entry = { incarnation: connection.incarnation, revision: connection.revision, prior, session: undefined as unknown as Promise<UpstreamSession> };
    entry.session = openUpstreamSession({
      ...sessionOptions(connection),
      onChallenge: (response) => (entry.challenge = challengeOf(response)),
      prior,
    });
    entries.set(key, entry);
    entry.session.then(
      (session) => {
        entry.prior = session.era === 'stateless-2026' && session.discover ? { kind: 'modern', discover: session.discover } : { kind: 'legacy' };
        if (session.era === 'sessions-2025') sessionsEraUrls.set(connection.mcpUrl, true);
      },
      // A failed open is not cached: the next request tries again (probing the era anew, in
      // case the server changed protocol since).
      () => {
        if (prior && !known) sessionsEraUrls.delete(connection.mcpUrl);
        if (entries.get(key) === entry) entries.delete(key);
      },
    );
    return entry;
  }

  async function session(connection: ConnectionRecord): Promise<UpstreamSession> {
    const key = connectionKey(connection);
    let entry = entries.get(key);
    if (entry && !opensFor(entry, connection)) {
      end(key, true);
      entry = undefined;
    }
    const opened = await (entry ?? open(connection, undefined)).session;
    opened.lastUsedAt = Date.now();
    return opened;
  }

  return {
    session,
    async renew(connection, stale) {
      const key = connectionKey(connection);
      const entry = entries.get(key);
      const current = entry && (await entry.session.catch(() => undefined));
      if (entry && current === stale) {
        entries.delete(key);
        void stale.close({ terminate: false });
        return open(connection, entry.prior).session;
      }
      return session(connection);
    },
    async probe(connection) {
      const url = new URL(connection.mcpUrl);
      const key = connectionKey(connection);
      // The config schema and the handshake go out together: the schema costs no round trip
      // of its own. A session opened for a connection that turns out to need input stays
      // unused, and ends with its revision.
      const pending = session(connection);
      pending.catch(() => {});
      const entry: Entry | undefined = entries.get(key);
      const schema = await fetchConfigSchema(connection.mcpUrl, options.egress.fetch, options.timeoutMs);
      if (schema) {
        const needs = evaluateConfig(schema, { headers: connection.credentials, mcpUrl: connection.mcpUrl });
        if (needs.missing.headers.length > 0 || needs.missing.query.length > 0) {
          return { status: { state: 'input_required', ...needs } };
        }
      }
      try {
        const opened = await pending;
        return { status: { state: 'connected' }, serverInfo: opened.serverInfo, challenge: null };
      } catch (error) {
        const failure = describeUpstreamFailure(error, url, options.timeoutMs, { opening: true });
        if (failure.kind === 'auth_required') return { status: { state: 'auth_required' }, challenge: entry?.challenge ?? null };
        if (failure.kind === 'insufficient_scope') return { status: { state: 'auth_required' }, challenge: failure.challenge };
        const message = failure.kind === 'failed' ? failure.message : `${url.host} lost the session while connecting`;
        return { status: { state: 'error', message } };
      }
    },
    openForClient(connection, declared) {
      // Only ever asked once the pooled session found the 2025 era: no probe.
      return openUpstreamSession({ ...sessionOptions(connection), prior: { kind: 'legacy' }, forClient: declared });
    },
    async close() {
      clearInterval(sweep);
      const sessions = [...entries.values()].map((entry) => entry.session).concat([...retiring]);
      entries.clear();
      retiring.clear();
      await Promise.all(sessions.map((s) => s.then((opened) => opened.close({ terminate: true }), () => {})));
    },
    get size() {
      return entries.size;
    },
  };
}

/** Whether the entry's session was opened for this connection as it stands (never another one that took its id). */
function opensFor(entry: Entry, connection: ConnectionRecord): boolean {
  return entry.incarnation === connection.incarnation && entry.revision === connection.revision;
}
