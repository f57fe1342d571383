import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';
import { findPostgresBinaries, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.ts';
import { eventually, startSwitchboardProcess, type SwitchboardProcess } from '../helpers/switchboard-process.ts';

/**
 * PostgreSQL stopped under load, cleanly (`pg_ctl stop -m fast`) and as a crash (`-m
 * immediate`), then started again, beneath two Switchboard processes. While it is down every
 * request gets an answer (a JSON error with 503 and retry-after, never a hang, a 500 or a dead
 * process); once it is back the service recovers by itself; every connection whose creation was
 * acknowledged (201) exists afterwards; and the LISTEN/NOTIFY change feed is listening again.
 * The server is this test's own (the shared one on 5432 serves other tests meanwhile).
 */

const bin = findPostgresBinaries();
const skipReason = !process.env.TEST_DATABASE_URL
  ? ' (skipped: PostgreSQL only, set TEST_DATABASE_URL)'
  : !bin
    ? ' (skipped: needs the PostgreSQL server binaries in /usr/lib/postgresql/*/bin)'
    : '';

type Phase = 'before' | 'down' | 'recovering' | 'after';
type Outcome = { op: 'list' | 'create' | 'mcp'; phase: Phase; round: string; status: number; error?: string; retryAfter?: string | null; connectionId?: string; ms: number };

describe.skipIf(skipReason !== '')(`PostgreSQL restarted under load${skipReason}`, () => {
  let pg: PrivatePostgres;
  let upstream: Upstream;
  let a: SwitchboardProcess;
  let b: SwitchboardProcess;
  let ns: string;
  let warm: string;
  const outcomes: Outcome[] = [];
  let phase: Phase = 'before';
  let round = '';
  let loadRunning = false;
  let load: Promise<void> | undefined;
  let created = 0;

  beforeAll(async () => {
    [pg, upstream] = await Promise.all([startPrivatePostgres(bin!), startFixtureUpstream('sessions')]);
    const env = { DATABASE_URL: pg.url, SWITCHBOARD_SECRET: randomBytes(32).toString('base64url'), DATABASE_POOL_SIZE: '5' };
    a = await startSwitchboardProcess(env);
    b = await startSwitchboardProcess(env);
    ns = ((await (await a.request('/namespaces', { method: 'POST' })).json()) as { name: string }).name;
    const response = await a.request(`/${ns}`, { method: 'POST', body: { mcpUrl: upstream.url, name: 'warm' } });
    expect(response.status).toBe(201);
    warm = ((await response.json()) as { connectionId: string }).connectionId;
  });

  afterAll(async () => {
    loadRunning = false;
    await load;
    for (const server of [a, b]) if (server) expect(server.process.output()).not.toContain(server.key);
    await Promise.allSettled([a?.close(), b?.close()]);
    await Promise.allSettled([upstream?.stop(), pg?.destroy()]);
  });

  /** One request of the mix, recorded; a request gets 15 s to answer (far beyond any prompt answer). */
  async function one(op: Outcome['op']): Promise<void> {
    const started = performance.now();
    const at = { phase, round };
    const signal = AbortSignal.timeout(15_000);
    let response: Response;
    try {
      if (op === 'list') response = await a.request(`/${ns}?limit=5`, { signal });
      else if (op === 'create') response = await a.request(`/${ns}`, { method: 'POST', body: { mcpUrl: upstream.url, name: `load-${created++}` }, signal });
      else {
        response = await a.request(`/connect/${ns}/${warm}/mcp`, {
          method: 'POST',
          body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } },
          headers: { accept: 'application/json, text/event-stream' },
          signal,
        });
      }
    } catch (error) {
      outcomes.push({ op, ...at, status: 0, error: `no answer: ${(error as Error).name}`, ms: performance.now() - started });
      return;
    }
    const text = await response.text();
    const outcome: Outcome = { op, ...at, status: response.status, ms: performance.now() - started };
    if (response.status >= 400) {
      let body: { error?: unknown; message?: unknown } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // recorded below as not JSON
      }
      outcome.error = typeof body.error === 'string' && typeof body.message === 'string' ? body.error : `not a JSON error: ${text.slice(0, 100)}`;
      outcome.retryAfter = response.headers.get('retry-after');
    }
    if (op === 'create' && response.status === 201) outcome.connectionId = (JSON.parse(text) as { connectionId: string }).connectionId;
    outcomes.push(outcome);
  }

  function startLoad(workers = 6): void {
    loadRunning = true;
    const ops: Outcome['op'][] = ['create', 'list', 'mcp'];
    load = Promise.all(
      Array.from({ length: workers }, async (_, worker) => {
        for (let i = worker; loadRunning; i++) await one(ops[i % ops.length]!);
      }),
    ).then(() => {});
  }

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function healthy(server: SwitchboardProcess): Promise<true | undefined> {
    const response = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(5_000) });
    return response.status === 200 ? true : undefined;
  }

  /** A change made through A is seen by B (whose cache only NOTIFY invalidates within seconds). */
  async function changeFeedReaches(what: string): Promise<number> {
    const response = await a.request(`/${ns}`, { method: 'POST', body: { mcpUrl: upstream.url, name: `feed-${what}` } });
    expect(response.status).toBe(201);
    const id = ((await response.json()) as { connectionId: string }).connectionId;
    // B reads it (and caches it) ...
    expect((await b.request(`/${ns}/${id}`, { headers: { authorization: `Bearer ${a.key}` } })).status).toBe(200);
    const deletedAt = performance.now();
    expect((await a.request(`/${ns}/${id}`, { method: 'DELETE' })).status).toBeLessThan(300);
    // ... and hears of its deletion (the cache would otherwise keep it for minutes).
    await eventually(
      `B sees the deletion (${what})`,
      async () => ((await b.request(`/${ns}/${id}`, { headers: { authorization: `Bearer ${a.key}` } })).status === 404 ? true : undefined),
      10_000,
      50,
    );
    return Math.round(performance.now() - deletedAt);
  }

  it('the change feed works before any fault', async () => {
    const ms = await changeFeedReaches('baseline');
    console.log(`[faults] change feed baseline: B saw A's deletion in ${ms} ms`);
  });

  it.each(['fast', 'immediate'] as const)('pg_ctl stop -m %s under load: clean failures while down, recovery by itself, change feed listening again', async (mode) => {
    round = mode;
    phase = 'before';
    startLoad();
    await sleep(1_000);
    phase = 'down';
    await pg.stop(mode);
    await sleep(2_500);
    // Still alive, still answering while the database is gone.
    expect(a.process.child.exitCode, a.process.output().slice(-3_000)).toBe(null);
    expect(b.process.child.exitCode, b.process.output().slice(-3_000)).toBe(null);
    expect((await fetch(`${a.url}/health`)).status).toBe(503);
    phase = 'recovering';
    const startedAt = performance.now();
    await pg.start();
    const serverUpMs = Math.round(performance.now() - startedAt);
    await eventually('A healthy again', () => healthy(a), 30_000, 50);
    const recoveredMs = Math.round(performance.now() - startedAt);
    await eventually('B healthy again', () => healthy(b), 30_000, 50);
    phase = 'after';
    await sleep(1_500);
    loadRunning = false;
    await load;

    const mine = outcomes.filter((o) => o.round === mode);
    const byPhase = (p: Phase) => mine.filter((o) => o.phase === p);
    const statusCounts = (list: Outcome[]) =>
      Object.entries(list.reduce<Record<string, number>>((counts, o) => ({ ...counts, [`${o.op}:${o.status}`]: (counts[`${o.op}:${o.status}`] ?? 0) + 1 }), {}))
        .map(([key, count]) => `${key}=${count}`)
        .join(' ');
    // Every request was answered, and every failure is a JSON 503 that says to retry.
    expect(mine.filter((o) => o.status === 0)).toEqual([]);
    const failures = mine.filter((o) => o.status >= 400);
    // On a failure, the servers' own account of the requests that failed (ids and messages only).
    const failedLines = () => [a, b].flatMap((s) => s.process.output().split('\n').filter((l) => l.includes('request failed') || l.includes('unhandled error'))).slice(-10).join('\n');
    expect(failures.filter((o) => o.status !== 503 || o.error !== 'service_unavailable' || o.retryAfter === null), failedLines()).toEqual([]);
    // It did fail while down (the fault was real), and nothing fails once it is back.
    expect(byPhase('down').filter((o) => o.status === 503).length).toBeGreaterThan(0);
    expect(byPhase('after').filter((o) => o.status >= 400)).toEqual([]);
    expect(byPhase('after').length).toBeGreaterThan(0);
    const feedMs = await changeFeedReaches(mode);
    console.log(
      `[faults] PostgreSQL stop -m ${mode} under load (6 clients: create, list, MCP call): ${mine.length} requests, ${byPhase('down').length + byPhase('recovering').length} while down or restarting [${statusCounts([...byPhase('down'), ...byPhase('recovering')])}], ${failures.length} failed (all 503 + retry-after), 0 unanswered; server up ${serverUpMs} ms after start, Switchboard healthy ${recoveredMs} ms after start; after: ${byPhase('after').length} requests, 0 failed; change feed heard again (${feedMs} ms)`,
    );
  });

  it('every acknowledged create exists afterwards, and none exists half-made', async () => {
    const acknowledged = outcomes.filter((o) => o.op === 'create' && o.status === 201).map((o) => o.connectionId!);
    const failedCreates = outcomes.filter((o) => o.op === 'create' && o.status !== 201).length;
    expect(acknowledged.length).toBeGreaterThan(0);
    const listed = new Map<string, { status: { state: string } }>();
    let cursor: string | null = null;
    do {
      const page = (await (await a.request(`/${ns}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).json()) as {
        connections: { connectionId: string; status: { state: string } }[];
        nextCursor: string | null;
      };
      for (const connection of page.connections) listed.set(connection.connectionId, connection);
      cursor = page.nextCursor;
    } while (cursor);
    const missing = acknowledged.filter((id) => !listed.has(id));
    expect(missing).toEqual([]);
    for (const id of acknowledged) expect((await a.request(`/${ns}/${id}`)).status).toBe(200);
    // Creates whose answer was an error may still have committed (the answer was lost, not the
    // row): such a connection must be whole, readable and usable like any other.
    const inDoubt = [...listed.keys()].filter((id) => id !== warm && !acknowledged.includes(id));
    for (const id of inDoubt) {
      const shown = await a.request(`/${ns}/${id}`);
      expect(shown.status).toBe(200);
      const call = await a.request(`/${ns}/${id}/.tools/echo`, { method: 'POST', body: { message: 'whole' } });
      expect(call.status, await call.clone().text()).toBe(200);
      expect(((await call.json()) as { content: { text: string }[] }).content[0]!.text).toBe('Echo: whole');
    }
    console.log(
      `[faults] acknowledged writes: ${acknowledged.length} connections created with 201 across 2 database outages, ${acknowledged.length - missing.length} found afterwards; ${failedCreates} creates answered 503, of which ${inDoubt.length} had committed nonetheless (whole and usable)`,
    );
  });
});
