import type { DatabaseConnection, Dialect, Driver, QueryResult } from 'kysely';

/** What metrics learn from the database: connections checked out, queries in flight and their latency. */
export type QueryObserver = {
  connectionAcquired(): void;
  connectionReleased(): void;
  queryStarted(): void;
  queryEnded(seconds: number, failed: boolean): void;
};

/**
 * `dialect` with its connections and queries reported to whichever observer is attached at the
 * time (none: one null check per query). The observer is attached after opening, by the server
 * that uses the database, since tests open databases before servers.
 */
export function observingQueries(dialect: Dialect): { dialect: Dialect; observe(observer: QueryObserver | undefined): void } {
  let observer: QueryObserver | undefined;
  const wrappers = new WeakMap<DatabaseConnection, DatabaseConnection>();
  const originals = new WeakMap<DatabaseConnection, DatabaseConnection>();
  // Connections counted as checked out: an observer attached meanwhile never sees a release without its acquire.
  const counted = new WeakSet<DatabaseConnection>();

  /** One wrapper per connection, kept: Kysely marks connections it has wrapped for logging by identity. */
  function wrapConnection(connection: DatabaseConnection): DatabaseConnection {
    const existing = wrappers.get(connection);
    if (existing) return existing;
    const executeQuery = async <R>(query: Parameters<DatabaseConnection['executeQuery']>[0]): Promise<QueryResult<R>> => {
      const watching = observer;
      if (!watching) return connection.executeQuery<R>(query);
      const started = performance.now();
      watching.queryStarted();
      let failed = true;
      try {
        const result = await connection.executeQuery<R>(query);
        failed = false;
        return result;
      } finally {
        watching.queryEnded((performance.now() - started) / 1000, failed);
      }
    };
    // What Kysely assigns (its logging wrapper of executeQuery) stays on the wrapper, so it wraps
    // ours and not the one underneath, which would loop.
    const assigned = new Map<string | symbol, unknown>();
    const wrapped = new Proxy(connection, {
      set(_target, property, value) {
        assigned.set(property, value);
        return true;
      },
      get(target, property) {
        if (assigned.has(property)) return assigned.get(property);
        if (property === 'executeQuery') return executeQuery;
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    wrappers.set(connection, wrapped);
    originals.set(wrapped, connection);
    return wrapped;
  }

  const wrapDriver = (driver: Driver): Driver =>
    new Proxy(driver, {
      get(target, property) {
        if (property === 'acquireConnection') {
          return async () => {
            const connection = wrapConnection(await target.acquireConnection());
            if (observer) {
              counted.add(connection);
              observer.connectionAcquired();
            }
            return connection;
          };
        }
        if (property === 'releaseConnection') {
          return async (connection: DatabaseConnection) => {
            if (counted.delete(connection)) observer?.connectionReleased();
            await target.releaseConnection(originals.get(connection) ?? connection);
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== 'function') return value;
        // Transactions and savepoints: the driver gets its own connection back, not our wrapper.
        return (first: unknown, ...rest: unknown[]) =>
          (value as (...args: unknown[]) => unknown).call(target, originals.get(first as DatabaseConnection) ?? first, ...rest);
      },
    });

  return {
    dialect: {
      createAdapter: () => dialect.createAdapter(),
      createIntrospector: (db) => dialect.createIntrospector(db),
      createQueryCompiler: () => dialect.createQueryCompiler(),
      createDriver: () => wrapDriver(dialect.createDriver()),
    },
    observe(next) {
      observer = next;
    },
  };
}
