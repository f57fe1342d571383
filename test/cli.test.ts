import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './helpers/database.ts';
import { runBin, runCli, startServerProcess } from './helpers/processes.ts';

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
