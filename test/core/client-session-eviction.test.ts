import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/core/auth/authenticate.ts';
import type { ConnectionRecord } from '../../src/core/connections/connection-store.ts';
import { createClientSessions } from '../../src/core/upstream/client-sessions.ts';
import type { UpstreamSession } from '../../src/core/upstream/upstream-session.ts';

/**
 * Who makes room when the process is full. The per-caller limit does not bound a tenant: every
 * API key is a caller, and so is every service token, children attenuated offline included. A
 * tenant that fills the process must end its own idle sessions by opening more, never another
 * tenant's while it holds more than they do.
 */

const connection = { namespace: 'ns', id: 'conn', incarnation: 'inc-1', revision: 1 } as ConnectionRecord;
const victim: Principal = { kind: 'account', accountId: 'victim-account', apiKeyId: 'victim-key' };
/** Offline-attenuated children of one token: each a caller of its own, all of one account. */
const attackerToken = (n: number) => ({ kind: 'token', accountId: 'attacker-account', tokenIds: ['root', `child-${n}`] }) as unknown as Principal;

function setup(maxSessions: number) {
  let clock = 0;
  const sessions = createClientSessions({
    idleMs: 60_000,
    maxSessions,
    maxPerCaller: 1,
    now: () => clock,
    openUpstream: async () => ({ close: async () => {} }) as unknown as UpstreamSession,
  });
  const open = async (principal: Principal) => {
    clock++;
    const opened = await sessions.open(connection, principal, { capabilities: {}, protocolVersion: '2025-11-25' });
    if (!opened.ok) throw new Error(opened.reason);
    return opened.session;
  };
  return { sessions, open };
}

describe('client sessions at the process limit', () => {
  it('a tenant filling the process with many callers ends its own idle sessions, not another tenant’s', async () => {
    const { sessions, open } = setup(4);
    const victims = await open(victim);
    for (let n = 0; n < 10; n++) await open(attackerToken(n));
    expect(sessions.find(victims.id, connection, victim)).toBe(victims);
    expect(victims.ended.aborted).toBe(false);
    expect(sessions.size).toBe(4);
    await sessions.close();
  });

  it('the tenant holding the most sessions makes room for another tenant’s initialize', async () => {
    const { sessions, open } = setup(3);
    const attackers = [await open(attackerToken(0)), await open(attackerToken(1))];
    const victims = await open(victim);
    const other: Principal = { kind: 'account', accountId: 'third-account', apiKeyId: 'third-key' };
    await open(other);
    expect(sessions.find(victims.id, connection, victim)).toBe(victims);
    expect(attackers.map((session) => session.ended.aborted)).toEqual([true, false]);
    await sessions.close();
  });
});
