import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startChangeFeed, type ChangeFeed } from '../../src/core/changes/change-feed.ts';
import { createKeyring } from '../../src/core/crypto/keyring.ts';
import { startReplicaRegistry } from '../../src/core/replicas/config-drift.ts';
import { differingSettings, securitySettingsOf } from '../../src/core/replicas/security-settings.ts';
import { recordReplicaSettings } from '../../src/db/queries/replicas.ts';
import { migrateToLatest, openDb, type OpenDatabase } from '../../src/db/open.ts';
import { createLogger } from '../../src/logger.ts';

/** The settings digest and the registry on one in-process database (PGlite in memory). */

const SECRET = 'a'.repeat(40);
const settingsOf = (env: Record<string, string>) => securitySettingsOf(loadConfig({ SWITCHBOARD_SECRET: SECRET, ...env }), createKeyring([SECRET]));

describe('security settings', () => {
  it('name what differs, by variable, whatever the spelling order of a list', () => {
    const base = settingsOf({ ALLOWED_UPSTREAM_HOSTS: 'localhost, 127.0.0.1:9000' });
    expect(differingSettings(base, settingsOf({ ALLOWED_UPSTREAM_HOSTS: '127.0.0.1:9000,LOCALHOST' }))).toEqual([]);
    expect(differingSettings(base, settingsOf({ ALLOWED_UPSTREAM_HOSTS: 'localhost, 127.0.0.1' }))).toEqual(['ALLOWED_UPSTREAM_HOSTS']);
    expect(differingSettings(base, settingsOf({ ALLOWED_UPSTREAM_HOSTS: 'localhost, 127.0.0.1:9000', CORS_ORIGINS: 'https://app.example', RATE_LIMIT_TOKEN_PER_MINUTE: '5' }))).toEqual([
      'CORS_ORIGINS',
      'RATE_LIMIT_TOKEN_PER_MINUTE',
    ]);
    const otherSecret = securitySettingsOf(loadConfig({ ALLOWED_UPSTREAM_HOSTS: 'localhost, 127.0.0.1:9000' }), createKeyring(['b'.repeat(40)]));
    expect(differingSettings(base, otherSecret)).toEqual(['SWITCHBOARD_SECRET']);
  });

  it('hold digests only: no value, no secret', () => {
    const settings = settingsOf({ ALLOWED_UPSTREAM_HOSTS: 'very-internal.example', PUBLIC_URL: 'https://switchboard.example' });
    const stored = JSON.stringify(settings);
    for (const value of ['very-internal', 'switchboard.example', SECRET]) expect(stored).not.toContain(value);
  });

  it('are keyed by the master secret: a digest cannot be recomputed from a guessed value without it', () => {
    const env = { ALLOWED_UPSTREAM_HOSTS: 'localhost', RATE_LIMIT_TOKEN_PER_MINUTE: '60' };
    const ours = settingsOf(env);
    const anotherSecret = securitySettingsOf(loadConfig({ SWITCHBOARD_SECRET: 'b'.repeat(40), ...env }), createKeyring(['b'.repeat(40)]));
    for (const name of ['ALLOWED_UPSTREAM_HOSTS', 'RATE_LIMIT_TOKEN_PER_MINUTE', 'MAX_BODY_BYTES']) {
      expect(ours[name]).toBeDefined();
      expect(anotherSecret[name]).not.toBe(ours[name]);
    }
    // The same values under the same secret agree, and a different secret is reported as itself.
    expect(differingSettings(ours, settingsOf(env))).toEqual([]);
    expect(differingSettings(ours, anotherSecret)).toEqual(['SWITCHBOARD_SECRET']);
  });

  it.each([
    ['TRUST_PROXY', '1'],
    ['AUTH_FAILURES_PER_MINUTE', '7'],
    ['OAUTH_LINK_TTL_SECONDS', '120'],
    ['UNAUTHENTICATED_BODY_TIMEOUT_MS', '2000'],
    ['MAX_CONNECTIONS', '50'],
  ])('%s is part of the set', (name, value) => {
    expect(differingSettings(settingsOf({}), settingsOf({ [name]: value }))).toEqual([name]);
  });

  it('digests an older version recorded (plain SHA-256) are not compared with keyed ones: no drift during a rolling upgrade', () => {
    const older = Object.fromEntries(Object.keys(settingsOf({})).map((name) => [name, 'f'.repeat(64)]));
    expect(differingSettings(settingsOf({}), older)).toEqual([]);
  });

  it('a setting one version records and another does not is no drift (rolling upgrades)', () => {
    const { MAX_BODY_BYTES: _, ...older } = settingsOf({});
    expect(differingSettings(settingsOf({ MAX_BODY_BYTES: '2048' }), older)).toEqual([]);
  });
});

describe('the replica registry', () => {
  let database: OpenDatabase;
  let changes: ChangeFeed;
  const lines: string[] = [];
  const logger = createLogger({ logLevel: 'info' }, { write: (line: string) => void lines.push(line) });
  const foreign = { replicaId: 'rep_left_by_an_earlier_run', settings: settingsOf({ ALLOWED_UPSTREAM_HOSTS: '10.0.0.0/8' }) };

  beforeAll(async () => {
    database = await openDb({ kind: 'memory' });
    await migrateToLatest(database.db);
    changes = await startChangeFeed(database);
  });
  afterAll(async () => {
    await changes?.close();
    await database?.close();
  });

  it('on a single-process database, forgets rows an earlier run left: no drift from a crash', async () => {
    await recordReplicaSettings(database.db, foreign);
    const registry = await startReplicaRegistry({ db: database.db, logger, changes, settings: settingsOf({}), singleProcess: true });
    expect(registry.drift()).toBeUndefined();
    expect(await database.db.selectFrom('replica_settings').select('replica_id').execute()).toEqual([{ replica_id: registry.replicaId }]);
    await registry.close();
    expect(await database.db.selectFrom('replica_settings').select('replica_id').execute()).toEqual([]);
  });

  it('on a shared database, finds a differing replica at start, and one that appears later at its next heartbeat', async () => {
    await recordReplicaSettings(database.db, foreign);
    const registry = await startReplicaRegistry({ db: database.db, logger, changes, settings: settingsOf({}), singleProcess: false, heartbeatMs: 50 });
    try {
      expect(registry.drift()).toEqual({ settings: ['ALLOWED_UPSTREAM_HOSTS'], replicas: 1 });
      await database.db.deleteFrom('replica_settings').where('replica_id', '=', foreign.replicaId).execute();
      await waitFor(() => registry.drift() === undefined);
      // Appears without a notification: only the heartbeat's comparison can find it. It beats
      // as a live replica does: with 50 ms heartbeats a row is live for 150 ms, which a loaded
      // machine can let pass before the next comparison runs.
      const silent = { replicaId: 'rep_silent', settings: settingsOf({ SETUP_LINK_TTL_SECONDS: '600' }) };
      await waitFor(() => registry.drift() !== undefined, () => recordReplicaSettings(database.db, silent));
      expect(registry.drift()).toEqual({ settings: ['SETUP_LINK_TTL_SECONDS'], replicas: 1 });
      const errors = lines.map((line) => JSON.parse(line) as { level: number; msg: string; settings?: string[] }).filter((line) => line.level === 50);
      expect(errors.map((line) => line.settings)).toEqual([['ALLOWED_UPSTREAM_HOSTS'], ['SETUP_LINK_TTL_SECONDS']]);
    } finally {
      await registry.close();
    }
  });
});

async function waitFor(condition: () => boolean, meanwhile?: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await meanwhile?.();
    if (condition()) return;
    if (Date.now() > deadline) throw new Error('not within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
