import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPatch, PatchError, postgresWrites } from '../../scripts/patch-dependencies.ts';

/**
 * The fix scripts/patch-dependencies.ts applies to postgres.js 3.4.9 on install, proved on a
 * real PostgreSQL server (porsager/postgres#1208, #1154). Unpatched, the first case crashes the
 * process with a TypeError and its query never settles; the second leaves a connection that
 * never sends its startup message again (CONNECT_TIMEOUT, over and over).
 */

const adminUrl = process.env.TEST_DATABASE_URL;

type Sql = ReturnType<typeof postgres>;

/**
 * postgres.js with max 2 connections over sockets this test can see (postgres.js's `socket`
 * option: the driver then skips its own connect and speaks over the socket handed to it).
 */
function driver(url: string): { sql: Sql; sockets: net.Socket[] } {
  const sockets: net.Socket[] = [];
  const socket = ({ host, port }: { host: string[]; port: number[] }) =>
    new Promise<net.Socket>((resolve, reject) => {
      const connecting = net.connect(port[0]!, host[0]!);
      connecting.once('error', reject);
      connecting.once('connect', () => {
        connecting.off('error', reject);
        sockets.push(connecting);
        resolve(connecting);
      });
    });
  // Generous: a connection that is slow to start here is a loaded machine, not the bug. The bug
  // makes a connection never start (CONNECT_TIMEOUT), whatever this is.
  const options = { max: 2, connect_timeout: 10, onnotice: () => {}, socket } as unknown as postgres.Options<{}>;
  return { sql: postgres(url, options), sockets };
}

/** The socket a reserved connection speaks over, found by the port the server saw it from. */
async function socketOf(reserved: postgres.ReservedSql, sockets: net.Socket[]): Promise<net.Socket> {
  const [row] = await reserved<{ port: number }[]>`select inet_client_port() as port`;
  const socket = sockets.find((s) => s.localPort === row!.port);
  if (!socket) throw new Error(`no recorded socket on port ${row!.port}`);
  return socket;
}

describe.skipIf(!adminUrl)(`postgres.js 3.4.9 as patched on install${adminUrl ? '' : ' (skipped: PostgreSQL only, set TEST_DATABASE_URL)'}`, () => {
  let sql: Sql | undefined;
  afterEach(async () => {
    await sql?.end({ timeout: 1 });
    sql = undefined;
  });

  it('a reserved connection whose server went away fails its next query (no crash), and the pool serves the next one', async () => {
    const made = driver(adminUrl!);
    sql = made.sql;
    const reserved = await sql.reserve();
    const socket = await socketOf(reserved, made.sockets);
    const [{ pid }] = (await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];

    const gone = once(socket, 'close');
    await sql`select pg_terminate_backend(${pid})`;
    await gone;

    // Unpatched: the write is deferred, then runs on the closed connection's null socket.
    await expect(reserved`select 1`).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    await expect(reserved`select 2`).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(await sql`select 3 as three`).toEqual([{ three: 3 }]);
  });

  it('a connection whose deferred write was cancelled by its close connects again', async () => {
    const made = driver(adminUrl!);
    sql = made.sql;
    const first = await sql.reserve();
    const second = await sql.reserve();
    const sockets = [await socketOf(first, made.sockets), await socketOf(second, made.sockets)] as const;

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
});

describe('the install-time patch of postgres.js', () => {
  const installed = path.join(import.meta.dirname, '..', '..', 'node_modules', 'postgres');

  /** A copy of the installed package's patched files, turned back into the release's text. */
  function unpatchedCopy(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-patch-'));
    fs.copyFileSync(path.join(installed, 'package.json'), path.join(dir, 'package.json'));
    for (const file of postgresWrites.files) {
      let text = fs.readFileSync(path.join(installed, file), 'utf8');
      for (const { original, patched } of postgresWrites.replacements) text = text.replace(patched, () => original);
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    }
    return dir;
  }

  it('is applied to every copy of the driver installed (npm ci runs it as postinstall)', () => {
    for (const file of postgresWrites.files) {
      const text = fs.readFileSync(path.join(installed, file), 'utf8');
      for (const { original, patched } of postgresWrites.replacements) {
        expect(text).toContain(patched);
        expect(text).not.toContain(original);
      }
    }
  });

  it('turns the release into what is installed, once; a second run changes nothing', () => {
    const dir = unpatchedCopy();
    try {
      expect(applyPatch(dir, postgresWrites).map((o) => o.result)).toEqual(postgresWrites.files.map(() => 'patched'));
      for (const file of postgresWrites.files) {
        expect(fs.readFileSync(path.join(dir, file), 'utf8')).toBe(fs.readFileSync(path.join(installed, file), 'utf8'));
      }
      expect(applyPatch(dir, postgresWrites).map((o) => o.result)).toEqual(postgresWrites.files.map(() => 'already patched'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses, writing nothing, a driver whose text or version is not the one it was written for', () => {
    const dir = unpatchedCopy();
    try {
      const changed = path.join(dir, postgresWrites.files[1]!);
      fs.writeFileSync(changed, fs.readFileSync(changed, 'utf8').replace('clearImmediate(nextWriteTimer)\n    socket.removeListener', 'clearImmediate(nextWriteTimer); nextWriteTimer = null\n    socket.removeListener'));
      const before = postgresWrites.files.map((file) => fs.readFileSync(path.join(dir, file), 'utf8'));
      expect(() => applyPatch(dir, postgresWrites)).toThrow(PatchError);
      expect(postgresWrites.files.map((file) => fs.readFileSync(path.join(dir, file), 'utf8'))).toEqual(before);

      const manifest = path.join(dir, 'package.json');
      fs.writeFileSync(manifest, fs.readFileSync(manifest, 'utf8').replace('"version": "3.4.9"', '"version": "3.4.10"'));
      expect(() => applyPatch(dir, postgresWrites)).toThrow(/postgres@3\.4\.10.*postgres@3\.4\.9/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
