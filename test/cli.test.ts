import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './helpers/database.ts';
import { freePort, runBin, runCli, startServerProcess } from './helpers/processes.ts';

/**
 * The CLI and the service as separate processes on one database, the way an operator runs
 * them: keys are made before the first start, used while it runs, revoked, and refused. The
 * first command runs the bin as `npx switchboard` does; the rest run the same code from the
 * build, which spares compiling the sources again in every child process.
 */
let database: TestDatabase;
let env: Record<string, string | undefined>;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-cli-'));
  database = await createTestDatabase();
  env =
    testDatabaseKind === 'postgres'
      ? { DATABASE_URL: database.url, SWITCHBOARD_SECRET: randomBytes(32).toString('base64url'), DATA_DIR: dataDir }
      : { DATA_DIR: dataDir };
});
afterAll(async () => {
  await database?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('switchboard CLI and service', () => {
  let first: { id: string; key: string; accountId: string };
  let second: { id: string; key: string; accountId: string };

  it('creates an account with a key before the service ever started (the bin itself, from the sources, as npx runs it)', async () => {
    const result = await runBin(['api-keys', 'create', '--name', 'first', '--json'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    first = JSON.parse(result.stdout);
    expect(first).toMatchObject({ id: expect.any(String), key: expect.stringMatching(/^sk_/), name: 'first', accountId: expect.stringMatching(/^acc_/) });
  });

  it('refuses to make another account unasked: lists the accounts and how to choose', async () => {
    const refused = await runCli(['api-keys', 'create', '--name', 'unasked'], env);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    const [message, header, row, ...rest] = refused.stderr.trimEnd().split('\n');
    expect(message).toMatch(/^switchboard: this database already has an account: add the key to one with --account <id>, or make another account with --new-account$/);
    expect(header).toMatch(/^ACCOUNT +NAME +CREATED +ACTIVE KEYS$/);
    expect(row).toMatch(new RegExp(`^${first.accountId} +first +\\d{4}-\\d\\d-\\d\\dT\\S+ +1$`));
    expect(rest).toEqual([]);
    const both = await runCli(['api-keys', 'create', '--name', 'x', '--account', first.accountId, '--new-account'], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('either --account or --new-account');
    // Nothing was made.
    const listed = await runCli(['accounts', 'list', '--json'], env);
    expect(JSON.parse(listed.stdout)).toEqual([{ id: first.accountId, name: 'first', createdAt: expect.any(String), activeApiKeys: 1 }]);
  });

  it('adds a key to an existing account, shown once in human form', async () => {
    const human = await runCli(['api-keys', 'create', '--name', 'second', '--account', first.accountId], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(first.accountId);
    expect(human.stdout).toMatch(/will not be shown again/);
    const key = /(sk_\S+)/.exec(human.stdout)?.[1];
    const id = /API key (\S+) /.exec(human.stdout)?.[1];
    expect(key).toBeDefined();
    second = { id: id!, key: key!, accountId: first.accountId };
  });

  it('refuses an unknown account, a missing name and an unknown command with clear messages', async () => {
    const noAccount = await runCli(['api-keys', 'create', '--name', 'x', '--account', 'acc_missing'], env);
    expect(noAccount.code).toBe(1);
    expect(noAccount.stderr).toContain('No account with id acc_missing');
    const noName = await runCli(['api-keys', 'create'], env);
    expect(noName.code).not.toBe(0);
    expect(noName.stderr).toContain('--name');
    const unknown = await runCli(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command');
  });

  it('lists keys without their secrets', async () => {
    const result = await runCli(['api-keys', 'list', '--json'], env);
    expect(result.code).toBe(0);
    const keys = JSON.parse(result.stdout) as { id: string; revokedAt: string | null }[];
    expect(keys.map((k) => k.id).sort()).toEqual([first.id, second.id].sort());
    expect(result.stdout).not.toContain(first.key.split('_')[2]);
    expect(result.stdout).not.toContain(second.key.split('_')[2]);
  });

  it('lists keys and accounts as tables with headers', async () => {
    // One after the other: the embedded database belongs to one process at a time.
    const keys = await runCli(['api-keys', 'list'], env);
    const accounts = await runCli(['accounts', 'list'], env);
    expect(keys.code, keys.stderr).toBe(0);
    const lines = keys.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +ACCOUNT +CREATED +STATUS +NAME$/);
    expect(lines.slice(1)).toHaveLength(2);
    for (const [key, name] of [[first, 'first'], [second, 'second']] as const) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${key.id} +${first.accountId} +\\S+ +active +${name}$`)));
    }
    expect(accounts.stdout).toMatch(new RegExp(`^ACCOUNT +NAME +CREATED +ACTIVE KEYS\n${first.accountId} +first +\\S+ +2\n$`));
  });

  it('says which migrations it applied, or that there were none', async () => {
    const again = await runCli(['migrate'], env);
    expect(again).toMatchObject({ code: 0, stdout: 'The database schema is already up to date.\n', stderr: '' });
    // A database of its own: every migration is new to it.
    const freshDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-migrate-'));
    try {
      const fresh = await runCli(['migrate'], { DATA_DIR: freshDir });
      expect(fresh.code, fresh.stderr).toBe(0);
      const lines = fresh.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe('Applied 0001_init');
      expect(lines.at(-1)).toMatch(new RegExp(`^The database schema is up to date \\(${lines.length - 1} migrations? applied\\)\\.$`));
      const json = await runCli(['migrate', '--json'], { DATA_DIR: freshDir });
      expect(JSON.parse(json.stdout)).toEqual({ applied: [] });
    } finally {
      fs.rmSync(freshDir, { recursive: true, force: true });
    }
  });

  it('names the unreachable database (host:port) and the driver’s reason, never the password', async () => {
    const password = 'pw-that-must-not-show';
    // Free a moment ago, so nothing listens there: the connection is refused.
    const closed = await freePort();
    const unreachable = { DATABASE_URL: `postgres://switchboard:${password}@127.0.0.1:${closed}/switchboard`, SWITCHBOARD_SECRET: randomBytes(32).toString('base64url'), DATA_DIR: dataDir };
    const [migrate, serve] = await Promise.all([
      runCli(['migrate'], unreachable),
      startServerProcess(unreachable).then(
        () => new Error('started'),
        (error: Error) => error,
      ),
    ]);
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toBe(`switchboard: Could not migrate the database: The database at 127.0.0.1:${closed} is unavailable (ECONNREFUSED)\n`);
    expect(serve.message).toContain(`The database at 127.0.0.1:${closed} is unavailable (ECONNREFUSED)`);
    for (const output of [migrate.stdout + migrate.stderr, serve.message]) {
      expect(output).not.toContain(password);
      expect(output).not.toMatch(/ {2}failed/);
    }
  });

  it('serves with those keys; revocation takes effect', async () => {
    const server = await startServerProcess(env);
    try {
      const call = (key: string) => fetch(`${server.url}/namespaces`, { headers: { authorization: `Bearer ${key}` } });
      expect((await call(first.key)).status).toBe(200);
      expect((await call(second.key)).status).toBe(200);

      if (testDatabaseKind === 'pglite') {
        // The embedded database is single-process: a second server or the CLI is refused.
        const clash = await startServerProcess(env).catch((error: Error) => error);
        expect(clash).toBeInstanceOf(Error);
        expect((clash as Error).message).toMatch(/in use by another Switchboard process \(pid \d+\)/);
        const cli = await runCli(['api-keys', 'revoke', second.id], env);
        expect(cli.code).toBe(1);
        expect(cli.stderr).toContain('in use');
      } else {
        // On PostgreSQL, replicas share the database, and the CLI works alongside them.
        const replica = await startServerProcess(env);
        try {
          expect((await fetch(`${replica.url}/namespaces`, { headers: { authorization: `Bearer ${first.key}` } })).status).toBe(200);
          const revoked = await runCli(['api-keys', 'revoke', second.id], env);
          expect(revoked.code).toBe(0);
          expect((await call(second.key)).status).toBe(401);
          expect((await fetch(`${replica.url}/namespaces`, { headers: { authorization: `Bearer ${second.key}` } })).status).toBe(401);
        } finally {
          await replica.stop();
        }
      }
      expect(server.output()).not.toContain(first.key);
      expect(await server.stop('SIGTERM')).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
    }

    const revoke = await runCli(['api-keys', 'revoke', second.id], env);
    expect(revoke.code).toBe(0);
    const again = await startServerProcess(env);
    try {
      const call = (key: string) => fetch(`${again.url}/namespaces`, { headers: { authorization: `Bearer ${key}` } });
      const refused = await call(second.key);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toEqual({ error: 'unauthorized', message: 'This API key has been revoked' });
      expect((await call(first.key)).status).toBe(200);
      // What the operator did is in the account's audit log, done by the command line (a second revoke adds nothing).
      const audit = await fetch(`${again.url}/audit-events`, { headers: { authorization: `Bearer ${first.key}` } });
      expect(audit.status).toBe(200);
      const { events } = (await audit.json()) as { events: { type: string; actor: unknown; details: { apiKeyId?: string } }[] };
      expect(events.map((event) => [event.type, event.actor, event.details.apiKeyId])).toEqual([
        ['api_key.revoked', { type: 'cli', id: null }, second.id],
        ['api_key.created', { type: 'cli', id: null }, second.id],
        ['api_key.created', { type: 'cli', id: null }, first.id],
      ]);
    } finally {
      await again.stop();
    }
    const unknown = await runCli(['api-keys', 'revoke', 'nosuchkey'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No API key with id nosuchkey');
    // Three or four service starts and as many CLI runs, one after another: each has its own
    // readiness deadline, and on a loaded 2-core machine together they outlast the default 60 s.
  }, 240_000);

  it.runIf(testDatabaseKind === 'pglite')('keeps the generated master key private to its owner', () => {
    const stat = fs.statSync(path.join(dataDir, 'secret.key'));
    expect(stat.mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(dataDir, 'secret.key'), 'utf8').trim().length).toBeGreaterThanOrEqual(32);
  });

  it('stops at start with a message naming a bad variable', async () => {
    const bad = await startServerProcess({ ...env, PORT: 'eighty' }).catch((error: Error) => error);
    expect(bad).toBeInstanceOf(Error);
    expect((bad as Error).message).toContain('PORT');
    expect((bad as Error).message).toContain('exited with 2');
  });
});
