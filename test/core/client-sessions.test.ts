import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/core/auth/authenticate.ts';
import type { ConnectionRecord } from '../../src/core/connections/connection-store.ts';
import type { Change, ChangeFeed } from '../../src/core/changes/change-feed.ts';
import { hashSessionId, type ClientSessionRecords } from '../../src/core/upstream/client-session-records.ts';
import { createClientSessions } from '../../src/core/upstream/client-sessions.ts';
import type { UpstreamSession } from '../../src/core/upstream/upstream-session.ts';

/**
 * The registry of clients' own sessions, on its own: binding, idle expiry and limits, with a
 * clock the test moves. The upstream sessions are stand-ins that record being closed (the
 * endpoint tests, test/mcp/client-sessions.test.ts, use real ones).
 */

const connection = { namespace: 'ns', id: 'conn', incarnation: 'inc-1', revision: 1 } as ConnectionRecord;
const alice: Principal = { kind: 'account', accountId: 'acct', apiKeyId: 'key-a' };
const bob: Principal = { kind: 'account', accountId: 'acct', apiKeyId: 'key-b' };

/**
 * Records as other replicas see them: which sessions they used lately (`usedElsewhere`), which
 * were removed. The real store is tested on the database in client-session-records.test.ts.
 */
function recordsStandIn() {
  const usedElsewhere = new Set<string>();
  const removed: string[] = [];
  const records = {
    touchEveryMs: 100,
    save: async () => {},
    find: async () => undefined,
    remove: async (id: string) => {
      removed.push(id);
      return true;
    },
    used() {},
    hold: () => () => {},
    usedWithin: async (ids: readonly string[]) => new Set(ids.filter((id) => usedElsewhere.has(id))),
    pruneAbandoned: async () => {},
    close: async () => {},
  } satisfies ClientSessionRecords;
  return { records, usedElsewhere, removed };
}

/** A change feed in this process alone: what is announced reaches the subscribers, as the real one's NOTIFY does. */
function feedStandIn() {
  const subscribers: Parameters<ChangeFeed['subscribe']>[0][] = [];
  const announced: Change[] = [];
  const feed: ChangeFeed = {
    announce: async (change) => {
      announced.push(change);
      subscribers.forEach((subscriber) => subscriber.onChange(change));
    },
    subscribe: (subscriber) => void subscribers.push(subscriber),
    close: async () => {},
  };
  return { feed, announced, hear: (change: Change) => subscribers.forEach((subscriber) => subscriber.onChange(change)) };
}

function setup(limits: { maxSessions?: number; maxPerCaller?: number } = {}, shared: { records?: ClientSessionRecords; changes?: ChangeFeed } = {}) {
  let clock = 0;
  const closed: { terminate: boolean }[] = [];
  const sessions = createClientSessions({
    ...shared,
    idleMs: 1_000,
    maxSessions: limits.maxSessions ?? 10,
    maxPerCaller: limits.maxPerCaller ?? 10,
    now: () => clock,
    openUpstream: async () => ({ close: async (options: { terminate: boolean }) => void closed.push(options) }) as unknown as UpstreamSession,
  });
  const open = async (principal: Principal = alice) => {
    const opened = await sessions.open(connection, principal, { capabilities: {}, protocolVersion: '2025-11-25' });
    if (!opened.ok) throw new Error(opened.reason);
    return opened.session;
  };
  return { sessions, closed, open, advance: (ms: number) => (clock += ms) };
}

describe('client sessions', () => {
  it('issues unguessable ids marked as this process’s, found only by their creator for the connection as it stands', async () => {
    const { sessions, open, closed } = setup();
    const session = await open();
    expect(session.id).toMatch(/^[0-9a-f]{12}\.[\w-]{32}$/);
    expect(sessions.issuedHere(session.id)).toBe(true);
    expect(sessions.issuedHere('smithery-stateless')).toBe(false);
    expect(sessions.find(session.id, connection, alice)).toBe(session);
    expect(sessions.find(session.id, connection, bob)).toBeUndefined();
    expect(sessions.find(session.id, { ...connection, id: 'other' }, alice)).toBeUndefined();
    expect(closed).toEqual([]);
    // The connection deleted and created again under its id: the session ends.
    expect(sessions.find(session.id, { ...connection, incarnation: 'inc-2' }, alice)).toBeUndefined();
    await Promise.resolve();
    expect(closed).toEqual([{ terminate: true }]);
    expect(sessions.size).toBe(0);
  });

  it('ends sessions idle longer than the idle time, closing their upstream sessions, but not one in use', async () => {
    const { sessions, open, closed, advance } = setup();
    const idle = await open();
    const busy = await open();
    const release = busy.hold();
    advance(1_001);
    await sessions.sweepIdle();
    expect(sessions.find(idle.id, connection, alice)).toBeUndefined();
    expect(idle.ended.aborted).toBe(true);
    expect(sessions.find(busy.id, connection, alice)).toBe(busy);
    expect(closed).toEqual([{ terminate: true }]);
    release();
    advance(1_001);
    await sessions.sweepIdle();
    expect(sessions.size).toBe(0);
  });

  it('at a limit, ends the caller’s (then anyone’s) session unused the longest; refuses only when every one is busy', async () => {
    const { sessions, open, advance } = setup({ maxSessions: 3, maxPerCaller: 2 });
    const first = await open(alice);
    advance(1);
    const second = await open(alice);
    advance(1);
    // Alice is at her limit: her oldest idle session makes room, not Bob's or a busy one.
    const third = await open(alice);
    expect(sessions.find(first.id, connection, alice)).toBeUndefined();
    expect(first.ended.aborted).toBe(true);
    const releases = [second.hold(), third.hold()];
    expect(await sessions.open(connection, alice, { capabilities: {}, protocolVersion: undefined })).toEqual({ ok: false, reason: 'caller_full' });
    const bobs = await open(bob);
    // The process is full: Bob's is the only idle one, and goes.
    advance(1);
    const carol: Principal = { kind: 'account', accountId: 'acct', apiKeyId: 'key-c' };
    const carols = await open(carol);
    expect(sessions.find(bobs.id, connection, bob)).toBeUndefined();
    const releaseCarol = carols.hold();
    expect(await sessions.open(connection, bob, { capabilities: {}, protocolVersion: undefined })).toEqual({ ok: false, reason: 'full' });
    expect(sessions.size).toBe(3);
    [...releases, releaseCarol].forEach((release) => release());
  });

  it('does not end a session idle here that another replica used within the idle time', async () => {
    const { records, usedElsewhere, removed } = recordsStandIn();
    const { feed, announced } = feedStandIn();
    const { sessions, open, closed, advance } = setup({}, { records, changes: feed });
    const elsewhere = await open();
    const nowhere = await open();
    usedElsewhere.add(elsewhere.id);
    advance(1_001);
    await sessions.sweepIdle();
    expect(sessions.find(elsewhere.id, connection, alice)).toBe(elsewhere);
    expect(sessions.find(nowhere.id, connection, alice)).toBeUndefined();
    expect(closed).toEqual([{ terminate: true }]);
    // Its record goes, and every replica is told, so their handles go too.
    expect(removed).toEqual([nowhere.id]);
    expect(announced).toEqual([{ kind: 'client_session_ended', idHash: hashSessionId(nowhere.id) }]);
  });

  it('a session ended on another replica goes here without a second terminate', async () => {
    const { records } = recordsStandIn();
    const { feed, hear } = feedStandIn();
    const { sessions, open, closed } = setup({}, { records, changes: feed });
    const session = await open();
    hear({ kind: 'client_session_ended', idHash: hashSessionId(session.id) });
    expect(session.ended.aborted).toBe(true);
    expect(sessions.find(session.id, connection, alice)).toBeUndefined();
    await Promise.resolve();
    expect(closed).toEqual([{ terminate: false }]);
  });

  it('closes every session when closed', async () => {
    const { sessions, open, closed } = setup();
    await open();
    await open(bob);
    await sessions.close();
    expect(closed).toHaveLength(2);
    expect(sessions.size).toBe(0);
  });
});
