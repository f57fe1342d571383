import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startServerProcess } from '../helpers/processes.ts';
import { FIRST_API_KEY_FILE } from '../../src/core/accounts/first-api-key.ts';
import { testDatabaseKind } from '../helpers/database.ts';

/**
 * `npm start` on a laptop for the first time: the embedded database is locked by the running
 * service, so the service itself leaves a first API key in an owner-only file (never in a log).
 * The embedded database only: the PostgreSQL run would test the same thing again.
 */
describe.skipIf(testDatabaseKind === 'postgres')('first start on the embedded database', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-first-start-'));
  const keyFile = path.join(dataDir, FIRST_API_KEY_FILE);
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('makes one API key, in a file only the owner can read, that the API accepts; never logged', async () => {
    const server = await startServerProcess({ DATA_DIR: dataDir });
    try {
      const key = fs.readFileSync(keyFile, 'utf8').trim();
      expect(key).toMatch(/^sk_[a-z0-9]+_[a-z0-9]+$/);
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
      const listed = await fetch(`${server.url}/namespaces`, { headers: { authorization: `Bearer ${key}` } });
      expect(listed.status).toBe(200);
      const output = server.output();
      expect(output).toContain(keyFile);
      expect(output).toContain(`${server.url}/docs`);
      expect(output).not.toContain(key);
      expect(output).not.toContain(key.split('_')[2]);
    } finally {
      await server.stop();
    }
  });

  it('makes no other key on later starts, whether or not the file was deleted', async () => {
    fs.rmSync(keyFile);
    const server = await startServerProcess({ DATA_DIR: dataDir });
    await server.stop();
    expect(fs.existsSync(keyFile)).toBe(false);
    const listed = await runCli(['api-keys', 'list', '--json'], { DATA_DIR: dataDir });
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((key) => key.name)).toEqual(['first-start']);
  });

  it('makes none when the operator created a key before the first start', async () => {
    const ownDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-first-start-'));
    try {
      const created = await runCli(['api-keys', 'create', '--name', 'mine', '--json'], { DATA_DIR: ownDir });
      expect(created.code).toBe(0);
      const server = await startServerProcess({ DATA_DIR: ownDir });
      await server.stop();
      expect(fs.existsSync(path.join(ownDir, FIRST_API_KEY_FILE))).toBe(false);
    } finally {
      fs.rmSync(ownDir, { recursive: true, force: true });
    }
  });
});
