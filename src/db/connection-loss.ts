import { CompiledQuery, type DatabaseConnection, type Dialect, type Driver } from 'kysely';

/**
 * The database could not be reached, or dropped the connection (restarting, crashed, out of
 * connections). Thrown in place of the driver's error so the edge can answer 503 and the
 * client retry, rather than a 500; a query that failed for any other reason is left as it is.
 */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  /** `address` is host:port, never the URL (it may hold the password). */
  constructor(cause: unknown, address?: string) {
    super(`The database${address ? ` at ${address}` : ''} is unavailable${describeCause(cause)}`, { cause });
  }
}

/** The driver's reason, as an operator can act on it: `(ECONNREFUSED)`, `(57P03: the database system is starting up)`. */
function describeCause(cause: unknown): string {
  const code = (cause as { code?: unknown } | null)?.code;
  const message = cause instanceof Error ? cause.message : '';
  if (typeof code !== 'string') return message ? ` (${message})` : '';
  // postgres.js names socket errors like `connect ECONNREFUSED 127.0.0.1:5432`: the code says it all.
  return message && !message.includes(code) ? ` (${code}: ${message})` : ` (${code})`;
}

/**
 * host:port of a postgres:// URL, for messages: the user and password are left out. Several
 * hosts (`host1:5432,host2:5432`) are kept as written.
 */
export function databaseAddress(url: string): string {
  const rest = url.replace(/^postgres(?:ql)?:\/\//, '');
  // After the last @ before the query: a password written with a raw @ in it stays out.
  const afterCredentials = rest.slice(rest.split('?')[0]!.lastIndexOf('@') + 1);
  const authority = /^[^/?#]*/.exec(afterCredentials)![0];
  // postgres:///db?host=/run/postgresql names a socket directory in the query.
  const socket = /[?&]host=([^&#]+)/.exec(url)?.[1];
  if (authority === '') return socket ? decodeURIComponent(socket) : 'localhost:5432';
  return authority
    .split(',')
    .map((host) => (/:\d+$/.test(host) ? host : `${host}:5432`))
    .join(',');
}

// Socket errors, postgres.js's own connection errors, and SQLSTATEs of a server going away:
// class 08 (connection exception), 57P01-57P03 (shutdown, crash, still starting), 53300 (too many connections).
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

export function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (CONNECTION_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code));
}

function rethrower(address: string | undefined) {
  return (error: unknown): never => {
    throw isConnectionLoss(error) ? new DatabaseUnavailableError(error, address) : error;
  };
}

/**
 * Every connection and query of `dialect`, with connection losses thrown as
 * DatabaseUnavailableError. A reserved postgres.js connection that lost its server is never
 * used or handed back again: postgres.js 3.4.9 crashes the process on a write to its closed
 * socket (porsager/postgres#1208), and a release would put the dead connection back among the
 * open ones. Left alone, the pool reconnects it when it is next needed.
 */
export function reportingUnavailability(dialect: Dialect, address?: string): Dialect {
  const lost = new WeakSet<DatabaseConnection>();
  const rethrow = rethrower(address);
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver: () => passThrough(dialect.createDriver(), {
      acquireConnection: (driver: Driver) => async (...args: unknown[]) =>
        guardConnection(await (driver.acquireConnection as (...a: unknown[]) => Promise<DatabaseConnection>)(...args).catch(rethrow), lost, address),
      // Kysely's PostgresDriver, which kysely-postgres-js extends, answers a failed ROLLBACK by
      // calling a private method that only its own `pg` connections have: a transaction whose
      // connection was lost then failed with a TypeError (a 500) in place of the loss (a 503).
      // The same ROLLBACK, through the guarded connection: a loss is reported and marks it lost.
      rollbackTransaction: () => async (connection: DatabaseConnection) => {
        await connection.executeQuery(CompiledQuery.raw('rollback'));
      },
      releaseConnection: (driver: Driver) => async (connection: DatabaseConnection, ...rest: unknown[]) => {
        if (lost.has(connection)) return;
        await (driver.releaseConnection as (c: DatabaseConnection, ...r: unknown[]) => Promise<void>)(connection, ...rest);
      },
    }),
  };
}

function guardConnection(connection: DatabaseConnection, lost: WeakSet<DatabaseConnection>, address: string | undefined): DatabaseConnection {
  const rethrow = rethrower(address);
  const guarded: DatabaseConnection = passThrough(connection, {
    executeQuery: (target: DatabaseConnection) => (query: Parameters<DatabaseConnection['executeQuery']>[0]) => {
      if (lost.has(guarded)) return Promise.reject(new DatabaseUnavailableError(new Error('the connection to it was lost'), address));
      return target.executeQuery(query).catch((error: unknown) => {
        if (isConnectionLoss(error)) lost.add(guarded);
        return rethrow(error);
      });
    },
    streamQuery: (target: DatabaseConnection) =>
      async function* (...args: Parameters<DatabaseConnection['streamQuery']>) {
        if (lost.has(guarded)) throw new DatabaseUnavailableError(new Error('the connection to it was lost'), address);
        try {
          yield* target.streamQuery(...args);
        } catch (error) {
          if (isConnectionLoss(error)) lost.add(guarded);
          rethrow(error);
        }
      },
  });
  return guarded;
}

/**
 * `target` with some methods replaced; the rest called on `target` itself (its private fields
 * stay reachable). What is assigned to it stays on the wrapper: Kysely wraps `executeQuery`
 * for logging that way, and must wrap ours, not the original underneath (that would loop).
 */
function passThrough<T extends object>(target: T, overrides: Record<string, (target: T) => unknown>): T {
  const assigned = new Map<string | symbol, unknown>();
  return new Proxy(target, {
    set(_object, property, value) {
      assigned.set(property, value);
      return true;
    },
    get(object, property) {
      if (assigned.has(property)) return assigned.get(property);
      const override = typeof property === 'string' ? overrides[property] : undefined;
      if (override) return override(object);
      const value = Reflect.get(object, property, object) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}
