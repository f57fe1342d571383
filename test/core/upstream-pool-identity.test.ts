import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeFeed } from '../../src/core/changes/change-feed.ts';
import type { ConnectionRecord } from '../../src/core/connections/connection-store.ts';
import { parseEgressAllowlist } from '../../src/egress-allowlist.ts';
import { createEgress, type Egress } from '../../src/core/network/guarded-dispatcher.ts';
import { createUpstreamPool, type UpstreamPool } from '../../src/core/upstream/upstream-pool.ts';
import { createLogger } from '../../src/logger.ts';
import { canary } from '../helpers/canary.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * The pool on its own, with a change feed that delivers nothing (every notification lost): a
 * session must never serve another connection than the one it was opened for, even one under
 * the same namespace and id at the same revision (deleted and created again, by another account).
 */
describe('upstream pool: a session belongs to one connection incarnation', () => {
  let first: Upstream;
  let second: Upstream;
  let egress: Egress;
  let pool: UpstreamPool;
  let reset: () => void;
  const firstKey = canary('first-tenant-key');
  const secondKey = canary('second-tenant-key');

  beforeAll(async () => {
    [first, second] = await Promise.all([
      startFixtureUpstream('sessions', { requireApiKey: firstKey }),
      startFixtureUpstream('sessions', { requireApiKey: secondKey }),
    ]);
    egress = createEgress(parseEgressAllowlist('127.0.0.1'));
    const silentFeed: ChangeFeed = {
      announce: async () => {},
      subscribe: (subscriber) => void (reset = () => subscriber.onReset()),
      close: async () => {},
    };
    pool = createUpstreamPool(silentFeed, {
      timeoutMs: 10_000,
      toolListTtlMs: 60_000,
      maxReplyBytes: 1024 * 1024,
      idleMs: 60_000,
      egress,
      logger: createLogger({ logLevel: 'silent' }),
      bearer: () => ({ token: async () => undefined }),
    });
  });
  afterAll(async () => {
    await pool?.close();
    await egress?.close();
    await Promise.all([first?.stop(), second?.stop()]);
  });

  function record(incarnation: string, mcpUrl: string, apiKey: string): ConnectionRecord {
    return {
      namespace: 'shared-name',
      id: 'c',
      name: 'c',
      mcpUrl,
      metadata: null,
      status: { state: 'connected' },
      serverInfo: null,
      revision: 1,
      incarnation,
      namespaceIncarnation: `ns-${incarnation}`,
      createdAt: new Date(0),
      credentials: { 'x-api-key': apiKey },
      oauth: {},
      oauthChallenge: null,
    };
  }

  async function echo(connection: ConnectionRecord, message: string): Promise<unknown> {
    const session = await pool.session(connection);
    return (await session.client.callTool({ name: 'echo', arguments: { message } })).content;
  }

  it('opens a new session for the same namespace, id and revision of another incarnation', async () => {
    const original = record('incarnation-a', first.url, firstKey);
    const recreated = record('incarnation-b', second.url, secondKey);
    const before = await pool.session(original);
    expect(before.url.href).toBe(first.url);

    const after = await pool.session(recreated);
    expect(after).not.toBe(before);
    expect(after.url.href).toBe(second.url);
    // The second upstream demands its own key: the call works only with the recreated connection's credentials.
    expect(await echo(recreated, 'from the recreated connection')).toEqual([{ type: 'text', text: 'Echo: from the recreated connection' }]);
  });

  it('opens a new session after the change feed reset, for the same connection too', async () => {
    const connection = record('incarnation-c', first.url, firstKey);
    const before = await pool.session(connection);
    expect(await pool.session(connection)).toBe(before);
    reset();
    expect(pool.size).toBe(0);
    const after = await pool.session(connection);
    expect(after).not.toBe(before);
    expect(await echo(connection, 'after the reset')).toEqual([{ type: 'text', text: 'Echo: after the reset' }]);
  });
});
