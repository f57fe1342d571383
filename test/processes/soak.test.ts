import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServerProcess, type ServerProcess } from '../helpers/processes.ts';
import { createScratchDatabase } from '../helpers/scratch-database.ts';
import { CANARY_PREFIX, canary } from '../helpers/canary.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * A bounded soak: the service as `npm start` runs it, 50 clients sending a mix of REST and MCP
 * traffic (lists, gets, filtered lists, REST and MCP tool calls, token minting and calls with
 * the token, connection create + delete) for SOAK_SECONDS (default 180), on PostgreSQL (how production runs). Every answer must be
 * the expected one, and the resident memory after warm-up must not grow by more than 10% (see
 * the two readings at the end of the test).
 *
 * Warm-up is the first half: the process's memory climbs to a plateau over its first ~1,500
 * connection create/delete cycles (V8's heap and the allocator reaching their working size;
 * the live JS heap stays ~40 MB), then stays flat. Growth after that would be a leak.
 *
 * Clients pause a quarter of a second between requests (up to 200 requests per second in all): a soak looks for leaks
 * and rare failures under steady traffic, not for the throughput ceiling (that is the bench),
 * and the rest of the suite runs on the same two cores meanwhile.
 */
const SOAK_MS = Number(process.env.SOAK_SECONDS ?? 180) * 1000;
const WARM_UP_MS = SOAK_MS / 2;
const CLIENTS = 50;
const PAUSE_MS = 250;
const RSS_GROWTH_ALLOWED = 0.1;

type Outcome = { kind: string; status: number; ok: boolean; detail?: string };

function residentMegabytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe.skipIf(testDatabaseKind !== 'postgres')('soak: 50 clients of mixed REST and MCP traffic on PostgreSQL', () => {
  const upstreamKey = canary('soak-upstream-key');
  let dataDir = '';
  let scratch: { url: string; drop(): Promise<void> } | undefined;
  let env: Record<string, string>;
  let upstream: Upstream;
  let server: ServerProcess;
  let key: string;
  let ns: string;
  const connectionIds: string[] = [];

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-soak-'));
    env = { DATA_DIR: dataDir, SWITCHBOARD_SECRET: randomBytes(32).toString('base64url') };
    if (testDatabaseKind === 'postgres') {
      scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!, 'sb_soak');
      env.DATABASE_URL = scratch.url;
    }
    upstream = await startFixtureUpstream('sessions', { requireApiKey: upstreamKey });
    const created = await runCli(['api-keys', 'create', '--name', 'soak', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    key = (JSON.parse(created.stdout) as { key: string }).key;
    server = await startServerProcess(env);
    const namespace = await call('/namespaces', { method: 'POST' });
    ns = ((await namespace.json()) as { name: string }).name;
    for (let i = 0; i < 20; i++) {
      const response = await call(`/${ns}`, {
        method: 'POST',
        body: { mcpUrl: upstream.url, headers: { 'x-api-key': upstreamKey }, metadata: { userId: `user-${i % 5}` } },
      });
      expect(response.status).toBe(201);
      connectionIds.push(((await response.json()) as { connectionId: string }).connectionId);
    }
  });

  afterAll(async () => {
    try {
      if (server) {
        expect(await server.stop('SIGTERM')).toBe(0);
        expect(server.output()).not.toContain(CANARY_PREFIX);
        expect(server.output()).not.toContain(key);
      }
    } finally {
      server?.child.kill('SIGKILL');
      await upstream?.stop();
      await scratch?.drop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  function call(pathname: string, init: { method?: string; body?: unknown; bearer?: string; headers?: Record<string, string> } = {}) {
    return fetch(`${server.url}${pathname}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${init.bearer ?? key}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(30_000),
    });
  }

  const mcp = (id: string, body: unknown, bearer?: string) =>
    call(`/connect/${ns}/${id}/mcp`, {
      method: 'POST',
      body,
      bearer,
      headers: { accept: 'application/json, text/event-stream', 'mcp-session-id': 'smithery-stateless' },
    });

  /** One request of a randomly chosen kind, judged against what that kind must answer. */
  async function oneRequest(client: number, n: number): Promise<Outcome> {
    const id = connectionIds[(client + n) % connectionIds.length]!;
    const message = `c${client}-${n}`;
    const pick = (client * 7 + n) % 10;
    const expectStatus = async (kind: string, response: Response, status: number, check?: (body: string) => boolean) => {
      const body = await response.text();
      const ok = response.status === status && (!check || check(body));
      return { kind, status: response.status, ok, detail: ok ? undefined : body.slice(0, 300) };
    };
    switch (pick) {
      case 0:
        return expectStatus('list', await call(`/${ns}?limit=10`), 200, (b) => b.includes('"connections"'));
      case 1:
        return expectStatus('filter', await call(`/${ns}?metadata.userId=user-${n % 5}`), 200, (b) => b.includes(`user-${n % 5}`));
      case 2:
        return expectStatus('get', await call(`/${ns}/${id}`), 200, (b) => b.includes(id));
      case 3:
      case 4:
        return expectStatus('rest-call', await call(`/${ns}/${id}/.tools/echo`, { method: 'POST', body: { message } }), 200, (b) =>
          b.includes(`Echo: ${message}`),
        );
      case 5:
      case 6: {
        const response = await mcp(id, { jsonrpc: '2.0', id: n, method: 'tools/call', params: { name: 'echo', arguments: { message } } });
        return expectStatus('mcp-call', response, 200, (b) => b.includes(`Echo: ${message}`));
      }
      case 7:
        return expectStatus('mcp-list', await mcp(id, { jsonrpc: '2.0', id: n, method: 'tools/list' }), 200, (b) => b.includes('"echo"'));
      case 8: {
        const minted = await call('/tokens', {
          method: 'POST',
          body: { policy: [{ namespaces: ns, operations: 'execute', resources: 'connections', ttl: '5m' }] },
        });
        if (minted.status !== 201 && minted.status !== 200) return expectStatus('mint', minted, 201);
        const { token } = (await minted.json()) as { token: string };
        const response = await mcp(id, { jsonrpc: '2.0', id: n, method: 'tools/call', params: { name: 'echo', arguments: { message } } }, token);
        return expectStatus('token-call', response, 200, (b) => b.includes(`Echo: ${message}`));
      }
      default: {
        const created = await call(`/${ns}`, {
          method: 'POST',
          body: { mcpUrl: upstream.url, headers: { 'x-api-key': upstreamKey }, metadata: { userId: 'transient' } },
        });
        if (created.status !== 201) return expectStatus('create', created, 201);
        const { connectionId } = (await created.json()) as { connectionId: string };
        return expectStatus('create-delete', await call(`/${ns}/${connectionId}`, { method: 'DELETE' }), 200);
      }
    }
  }

  it(`keeps answering correctly for ${SOAK_MS / 1000} s with no resident memory growth beyond 10% after warm-up`, { timeout: SOAK_MS + 120_000 }, async () => {
    const started = Date.now();
    const samples: { at: number; rss: number }[] = [];
    const sampler = setInterval(() => samples.push({ at: Date.now() - started, rss: residentMegabytes(server.child.pid!) }), 1000);
    const counts = new Map<string, number>();
    const failures: Outcome[] = [];
    const latencies = new Map<string, number[]>();
    const clients = Array.from({ length: CLIENTS }, async (_, client) => {
      for (let n = 0; Date.now() - started < SOAK_MS; n++) {
        let outcome: Outcome;
        const sent = performance.now();
        try {
          outcome = await oneRequest(client, n);
          const spent = latencies.get(outcome.kind) ?? [];
          spent.push(performance.now() - sent);
          latencies.set(outcome.kind, spent);
        } catch (error) {
          outcome = { kind: 'transport', status: 0, ok: false, detail: String(error) };
        }
        counts.set(outcome.kind, (counts.get(outcome.kind) ?? 0) + 1);
        if (!outcome.ok && failures.length < 20) failures.push(outcome);
        if (!outcome.ok) counts.set('failed', (counts.get('failed') ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
      }
    });
    await Promise.all(clients);
    clearInterval(sampler);

    // Two readings of growth over the measured period, each fooled by something that is not a
    // leak: the medians of its last fifth against the working size (the larger of its first
    // fifth's median and the peak of the warm-up's second half: RSS once reached is the working
    // size, and V8 may hand memory back mid-run and take it again, as seen on PostgreSQL with a
    // collection at the start of the measured period), and the floors of its two halves (by V8
    // still sizing its old space, a slow climb seen on an idle machine). A leak lifts both
    // beyond anything the warm-up reached; growth beyond the allowance in both fails.
    const measured = samples.filter((s) => s.at >= WARM_UP_MS);
    const fifth = Math.max(3, Math.floor(measured.length / 5));
    const warmPeak = Math.max(...samples.filter((s) => s.at >= WARM_UP_MS / 2 && s.at < WARM_UP_MS).map((s) => s.rss));
    const early = Math.max(median(measured.slice(0, fifth).map((s) => s.rss)), warmPeak);
    const late = median(measured.slice(-fifth).map((s) => s.rss));
    const half = Math.floor(measured.length / 2);
    const earlyFloor = Math.min(...measured.slice(0, half).map((s) => s.rss));
    const lateFloor = Math.min(...measured.slice(half).map((s) => s.rss));
    const total = [...counts.entries()].filter(([kind]) => kind !== 'failed').reduce((sum, [, c]) => sum + c, 0);
    console.log(
      `soak (${testDatabaseKind}): ${total} requests in ${Math.round((Date.now() - started) / 1000)} s from ${CLIENTS} clients, ` +
        `${counts.get('failed') ?? 0} failed; by kind ${JSON.stringify(Object.fromEntries(counts))}; ` +
        `RSS working size ${early.toFixed(1)} MB, at the end ${late.toFixed(1)} MB (${(((late - early) / early) * 100).toFixed(1)}%), ` +
        `floor ${earlyFloor.toFixed(1)} then ${lateFloor.toFixed(1)} MB (${(((lateFloor - earlyFloor) / earlyFloor) * 100).toFixed(1)}%), ` +
        `peak ${Math.max(...samples.map((s) => s.rss)).toFixed(1)} MB; median ms by kind ` +
        JSON.stringify(Object.fromEntries([...latencies].map(([kind, ms]) => [kind, Math.round(median(ms))]))) +
        `; RSS every 10 s ${samples.filter((_, i) => i % 10 === 9).map((s) => Math.round(s.rss)).join(' ')}`,
    );
    expect(failures, JSON.stringify(failures, null, 2)).toEqual([]);
    expect(total).toBeGreaterThan(CLIENTS * 10);
    const grew = late > early * (1 + RSS_GROWTH_ALLOWED) && lateFloor > earlyFloor * (1 + RSS_GROWTH_ALLOWED);
    expect(grew, 'resident memory grew beyond the allowance by both readings').toBe(false);
  });
});
