import net from 'node:net';
import { once } from 'node:events';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * The fixes patches/postgres+3.4.9.patch makes to postgres.js 3.4.9 (applied on install by
 * patch-package; patches/README.md), proved on a real PostgreSQL server (porsager/postgres#1208,
 * #1154, #1192, #1223, #1195, #1199). Unpatched: the first
 * case crashes the process (TypeError on a null socket) and then runs the reservation's query on
 * a connection the pool has since taken back; the second crashes the process and its query never
 * settles; in the third a connection never sends its startup message again (CONNECT_TIMEOUT, over
 * and over); in the fourth the waiting reservation never settles.
 */

const adminUrl = process.env.TEST_DATABASE_URL;

type Sql = ReturnType<typeof postgres>;

/**
 * postgres.js over sockets this test can see (postgres.js's `socket` option: the driver then
 * skips its own connect and speaks over the socket handed to it).
 */
function driver(url: string, max: number, onConnected?: (socket: net.Socket) => void): { sql: Sql; sockets: net.Socket[] } {
  const sockets: net.Socket[] = [];
  const socket = ({ host, port }: { host: string[]; port: number[] }) =>
    new Promise<net.Socket>((resolve, reject) => {
      const connecting = net.connect(port[0]!, host[0]!);
      connecting.once('error', reject);
      connecting.once('connect', () => {
        connecting.off('error', reject);
        sockets.push(connecting);
        onConnected?.(connecting);
        resolve(connecting);
      });
    });
  // Generous: a connection that is slow to start here is a loaded machine, not the bug. The bug
  // makes a connection never start (CONNECT_TIMEOUT), whatever this is.
  const options = { max, connect_timeout: 10, onnotice: () => {}, socket } as unknown as postgres.Options<{}>;
  return { sql: postgres(url, options), sockets };
}

type Backend = { pid: number; port: number };
const backendQuery = 'select pg_backend_pid() as pid, inet_client_port() as port';

/** The socket a connection speaks over, found by the port the server saw it from. */
function socketOf(backend: Backend, sockets: net.Socket[]): net.Socket {
  const socket = sockets.find((s) => s.localPort === backend.port);
  if (!socket) throw new Error(`no recorded socket on port ${backend.port}`);
  return socket;
}

async function reservedBackend(reserved: postgres.ReservedSql): Promise<Backend> {
  return ((await reserved.unsafe(backendQuery)) as unknown as Backend[])[0]!;
}

describe.skipIf(!adminUrl)(`postgres.js 3.4.9 as patched on install${adminUrl ? '' : ' (skipped: PostgreSQL only, set TEST_DATABASE_URL)'}`, () => {
  let sql: Sql | undefined;
  let admin: Sql | undefined;
  afterEach(async () => {
    await Promise.all([sql?.end({ timeout: 1 }), admin?.end({ timeout: 1 })]);
    sql = admin = undefined;
  });

  /** Ends the backend's session from another client, and waits until the driver has seen its socket close. */
  async function terminate(backend: Backend, sockets: net.Socket[]): Promise<void> {
    admin ??= postgres(adminUrl!, { max: 1, onnotice: () => {} });
    const gone = once(socketOf(backend, sockets), 'close');
    await admin`select pg_terminate_backend(${backend.pid})`;
    await gone;
  }

  it('a reserved connection whose server went away refuses its queries, also once the pool has reconnected that connection', async () => {
    const made = driver(adminUrl!, 1);
    sql = made.sql;
    const reserved = await sql.reserve();
    const backend = await reservedBackend(reserved);
    await terminate(backend, made.sockets);

    // Unpatched: the write is deferred, then runs on the closed connection's null socket.
    await expect(reserved`select 1`).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    // The pool reconnects its only connection; the old reservation must not reach it.
    expect(await sql`select 2 as two`).toEqual([{ two: 2 }]);
    await expect(reserved`select 3`).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(await sql`select 4 as four`).toEqual([{ four: 4 }]);
  });

  it('a transaction whose server went away fails, and so does its next query (no crash)', async () => {
    const made = driver(adminUrl!, 2);
    sql = made.sql;
    let sent: (outcome: Promise<unknown>) => void = () => {};
    const next = new Promise<Promise<unknown>>((resolve) => (sent = resolve));
    const transaction = sql.begin(async (tx) => {
      const backend = ((await tx.unsafe(backendQuery)) as unknown as Backend[])[0]!;
      await terminate(backend, made.sockets);
      const outcome = tx`select 1`.catch((error: unknown) => error);
      sent(outcome);
      await outcome;
    });
    await expect(transaction).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    // Unpatched: a TypeError on the null socket, and this query never settles.
    expect(await (await next)).toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(await sql`select 2 as two`).toEqual([{ two: 2 }]);
  });

  it('a connection whose deferred write was cancelled by its close connects again', async () => {
    const made = driver(adminUrl!, 2);
    sql = made.sql;
    const first = await sql.reserve();
    const second = await sql.reserve();
    const sockets = [socketOf(await reservedBackend(first), made.sockets), socketOf(await reservedBackend(second), made.sockets)] as const;

    // Both sockets are destroyed at once, as a restarting server drops every connection. When
    // the first close is handled, the other connection still looks alive: a query sent to it
    // then defers its write, and that connection's own close follows before the write's turn.
    const late: Promise<unknown>[] = [];
    sockets.forEach((socket, index) =>
      socket.once('close', () => {
        if (late.length === 0) late.push((index === 0 ? second : first)`select 'late'`.catch((error: unknown) => error));
      }),
    );
    const closed = sockets.map((socket) => once(socket, 'close'));
    for (const socket of sockets) socket.destroy();
    await Promise.all(closed);
    expect(late).toHaveLength(1);
    expect(await late[0]).toMatchObject({ code: 'CONNECTION_CLOSED' });

    // Two queries at once reconnect both connections. Unpatched, the one whose write was
    // cancelled keeps a stale timer: its startup message is never sent (CONNECT_TIMEOUT).
    expect(await Promise.all([sql`select 1 as n`, sql`select 2 as n`])).toEqual([[{ n: 1 }], [{ n: 2 }]]);
    expect(await Promise.all([sql`select 3 as n`, sql`select 4 as n`])).toEqual([[{ n: 3 }], [{ n: 4 }]]);
  });

  it('a connection lost while it looks up array types costs no unhandled rejection: the process carries on', async () => {
    // The socket is cut once the driver has sent its array-type lookup, the first query on a new
    // connection. Unpatched, that lookup's failure is an unhandled rejection: the process ends.
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      let cut = false;
      const cutAfterTypeLookup = (socket: net.Socket) => {
        const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
        socket.write = ((chunk: unknown, ...rest: unknown[]) => {
          const written = write(chunk, ...rest);
          if (!cut && Buffer.from(chunk as Uint8Array).includes('pg_catalog.pg_type')) {
            cut = true;
            socket.destroy();
          }
          return written;
        }) as typeof socket.write;
      };
      sql = driver(adminUrl!, 1, cutAfterTypeLookup).sql;
      // Kysely takes connections with reserve(): the lookup then runs with no query waiting on it.
      // The driver may fail the reservation with its connection or hand it the next one.
      const reserved = await sql.reserve().catch((error: { code?: string }) => error.code);
      expect(cut).toBe(true);
      if (typeof reserved === 'function') reserved.release();
      else expect(reserved).toBe('CONNECTION_CLOSED');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
      expect(await sql`select 2 as n`).toEqual([{ n: 2 }]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it('a reservation waiting for a connection that then closes is handed the reconnected one', async () => {
    const made = driver(adminUrl!, 2);
    sql = made.sql;
    const holders = [await sql.reserve(), await sql.reserve()];

    // Both connections are held: this reservation queues. The server then ends the first one,
    // and the pool reconnects it for the queued reservation (unpatched: then forgets it).
    const waiting = sql.reserve();
    await terminate(await reservedBackend(holders[0]!), made.sockets);

    const reserved = await waiting;
    expect(await reserved`select 1 as one`).toEqual([{ one: 1 }]);
    reserved.release();
    holders[1]!.release();
    expect(await Promise.all([sql`select 2 as n`, sql`select 3 as n`])).toEqual([[{ n: 2 }], [{ n: 3 }]]);
  });
});
