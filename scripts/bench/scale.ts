import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { migrateToLatest, openDb, type DatabaseTarget } from '../../src/db/open.ts';
import { freePort, projectRoot, runCli, spawnUntilReady, startServerProcess, type ServerProcess } from '../../test/helpers/processes.ts';
import { createScratchDatabase } from '../../test/helpers/scratch-database.ts';
import { quantile, round, type Row } from './report.ts';

/**
 * Scale: a metadata-filtered listing over many stored connections (100k on PGlite, 1M on
 * PostgreSQL), the first call on connections nobody used yet (load, decrypt, upstream
 * session) against a direct initialize + call, and the memory of a process holding 100k
 * connections with 1k of them active.
 */
export async function benchScale(options: { postgresUrl?: string; pgliteRows: number; postgresRows: number; active: number }): Promise<Row[]> {
  const rows: Row[] = [];
  const upstreamPort = await freePort();
  const upstream = await spawnUntilReady(['--import', 'tsx', path.join(projectRoot, 'scripts', 'lib', 'trivial-upstream.ts'), String(upstreamPort)], {}, /^listening/m);
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}/mcp`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-scale-'));
  try {
    rows.push(...(await scaleOn('PGlite', { DATA_DIR: dataDir }, { kind: 'pglite', dataDir }, options.pgliteRows, options.active, upstreamUrl)));
    if (options.postgresUrl) {
      const scratch = await createScratchDatabase(options.postgresUrl, 'sb_bench_scale');
      try {
        const env = { DATA_DIR: dataDir, DATABASE_URL: scratch.url, SWITCHBOARD_SECRET: randomBytes(32).toString('base64url') };
        rows.push(...(await scaleOn('PostgreSQL', env, { kind: 'postgres', url: scratch.url, poolSize: 2 }, options.postgresRows, options.active, upstreamUrl)));
      } finally {
        await scratch.drop();
      }
    }
    rows.push(...(await directFirstCalls(upstreamUrl, 200)));
  } finally {
    upstream.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

async function scaleOn(
  label: string,
  env: Record<string, string>,
  target: DatabaseTarget,
  stored: number,
  active: number,
  upstreamUrl: string,
): Promise<Row[]> {
  const section = `scale/${label}`;
  const rows: Row[] = [];
  const created = await runCli(['api-keys', 'create', '--name', 'bench', '--json'], env);
  if (created.code !== 0) throw new Error(`could not create a key: ${created.stderr}`);
  const { key, accountId } = JSON.parse(created.stdout) as { key: string; accountId: string };

  const seeding = performance.now();
  await seed(target, accountId, stored, active, upstreamUrl);
  rows.push({ section, measure: `seed ${stored.toLocaleString('en')} connections (SQL, indexes included)`, value: round((performance.now() - seeding) / 1000, 1), unit: 's' });

  const server = await startServerProcess({ ...env, LOG_LEVEL: 'info' });
  // One kept-alive connection and node:http, the lightest client there is: its own cost and
  // garbage stay out of the server's tail.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const auth = { authorization: `Bearer ${key}` };
    const listing = async (query: () => string, count: number) => {
      const times: number[] = [];
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        const status = await get(`${server.url}/bench?${query()}`, auth, agent);
        if (status !== 200) throw new Error(`listing answered ${status}`);
        times.push(performance.now() - started);
      }
      return times.sort((a, b) => a - b);
    };
    const pick = () => 1 + Math.floor(Math.random() * stored);
    const queries = [
      ['GET /{ns}?metadata.userId=<one user> (1 match)', () => `metadata.userId=u${pick()}`],
      ['GET /{ns}?metadata[team]=<team>&limit=100 (1% match)', () => `metadata%5Bteam%5D=t${pick() % 100}&limit=100`],
      ['GET /{ns}?limit=100 (first page, no filter)', () => 'limit=100'],
    ] as const;
    // A server in service has run these paths many times: until V8 has compiled them (a few
    // thousand requests), a fresh process's times are the compiler's, not the steady state's.
    for (let round = 0; round < 1000; round++) for (const [, query] of queries) await listing(query, 1);
    for (const [measure, query] of queries) {
      const times = await listing(query, 1000);
      rows.push({ section, measure: `${measure} p50`, value: round(quantile(times, 0.5), 2), unit: 'ms' });
      rows.push({ section, measure: `${measure} p99`, value: round(quantile(times, 0.99), 2), unit: 'ms', detail: `${times.length} requests after 3,000 to warm up, over ${stored.toLocaleString('en')} stored` });
    }
    if (label === 'PostgreSQL') {
      const p99 = rows.find((row) => row.measure.startsWith('GET /{ns}?metadata.userId') && row.measure.endsWith('p99'))!.value;
      rows.push({ section, measure: 'target: filter p99 ≤ 5 ms at 1M', value: p99, unit: 'ms', detail: p99 <= 5 ? 'met' : 'missed' });
    }
  } finally {
    agent.destroy();
    await server.stop();
  }

  // A fresh process for the rest, so the listings' garbage does not count as memory in use.
  const fresh = await startServerProcess({ ...env, LOG_LEVEL: 'info' });
  try {
    const idleMb = residentMegabytes(fresh);
    // The first call on each active connection: nothing cached, no upstream session yet.
    const first: number[] = [];
    for (let i = 1; i <= active; i++) first.push(await timedCall(fresh, key, `a${i}`));
    first.sort((a, b) => a - b);
    const warm: number[] = [];
    for (let i = 1; i <= active; i++) warm.push(await timedCall(fresh, key, `a${i}`));
    warm.sort((a, b) => a - b);
    rows.push({ section, measure: 'first tools/call on a new connection p50', value: round(quantile(first, 0.5), 2), unit: 'ms', detail: `p99 ${round(quantile(first, 0.99), 2)} ms, ${active} connections` });
    rows.push({ section, measure: 'next tools/call on it p50', value: round(quantile(warm, 0.5), 2), unit: 'ms', detail: `p99 ${round(quantile(warm, 0.99), 2)} ms` });

    const rssMb = residentMegabytes(fresh);
    const embedded = label === 'PGlite' ? '; includes the embedded database' : '';
    rows.push({ section, measure: 'RSS of the process at start', value: round(idleMb, 1), unit: 'MB' });
    rows.push({
      section,
      measure: `RSS with ${stored.toLocaleString('en')} stored, ${active} active, right after`,
      value: round(rssMb, 1),
      unit: 'MB',
      detail: `${rssMb <= 200 ? 'met' : 'missed'} (target ≤ 200 MB)${embedded}`,
    });
    const settled = await settledResidentMegabytes(fresh);
    rows.push({
      section,
      measure: `RSS with ${stored.toLocaleString('en')} stored, ${active} active, settled`,
      value: round(settled.mb, 1),
      unit: 'MB',
      detail: `${settled.mb <= 200 ? 'met' : 'missed'} (target ≤ 200 MB) after ${settled.seconds} s idle, sessions still open${embedded}`,
    });
  } finally {
    await fresh.stop();
  }
  return rows;
}

function get(url: string, headers: Record<string, string>, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, agent }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
    });
    request.once('error', reject);
  });
}

async function timedCall(server: ServerProcess, key: string, id: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${server.url}/connect/bench/${id}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } }),
  });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`call on ${id} answered ${response.status}`);
  return performance.now() - started;
}

/** Connections straight into the database (the API would probe each upstream): `stored` idle ones and `active` to a live upstream. */
async function seed(target: DatabaseTarget, accountId: string, stored: number, active: number, upstreamUrl: string): Promise<void> {
  const database = await openDb(target);
  try {
    await migrateToLatest(database.db);
    const db = database.db;
    await sql`insert into namespaces (name, account_id) values ('bench', ${accountId})`.execute(db);
    for (let from = 1; from <= stored; from += 100_000) {
      const to = Math.min(stored, from + 99_999);
      await sql`
        insert into connections (namespace, id, name, mcp_url, metadata, status)
        select 'bench', 'c' || g, 'c' || g, 'http://127.0.0.1:9/mcp',
               jsonb_build_object('userId', 'u' || g, 'team', 't' || (g % 100)), '{"state":"disconnected"}'::jsonb
        from generate_series(${from}::int, ${to}::int) g`.execute(db);
    }
    await sql`
      insert into connections (namespace, id, name, mcp_url, metadata, status)
      select 'bench', 'a' || g, 'a' || g, ${upstreamUrl}, jsonb_build_object('active', true), '{"state":"connected"}'::jsonb
      from generate_series(1, ${active}::int) g`.execute(db);
    await sql`analyze connections`.execute(db);
  } finally {
    await database.close();
  }
}

/** What a client pays to start talking to the upstream itself: initialize, initialized, then the call. */
async function directFirstCalls(upstreamUrl: string, count: number): Promise<Row[]> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const initialize = await fetch(upstreamUrl, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'b', version: '1' } } }),
    });
    const session = { 'mcp-session-id': initialize.headers.get('mcp-session-id') ?? '', 'mcp-protocol-version': '2025-11-25' };
    await initialize.arrayBuffer();
    await (await fetch(upstreamUrl, { method: 'POST', headers: { ...headers, ...session }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).arrayBuffer();
    const call = await fetch(upstreamUrl, {
      method: 'POST',
      headers: { ...headers, ...session },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } }),
    });
    await call.arrayBuffer();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return [{ section: 'scale/direct', measure: 'initialize + initialized + tools/call, direct p50', value: round(quantile(times, 0.5), 2), unit: 'ms', detail: `p99 ${round(quantile(times, 0.99), 2)} ms` }];
}

/**
 * RSS once the process has been idle long enough for V8 to hand back the heap pages a burst
 * of work left committed (its memory reducer runs after some seconds without activity): the
 * memory the open sessions and caches actually hold. Sampled until it stops falling, at most
 * a minute.
 */
async function settledResidentMegabytes(server: ServerProcess): Promise<{ mb: number; seconds: number }> {
  const started = performance.now();
  const peak = residentMegabytes(server);
  let last = peak;
  while (performance.now() - started < 60_000) {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const now = residentMegabytes(server);
    const fell = now < peak * 0.9;
    const steady = Math.abs(now - last) < 1;
    last = now;
    if (fell && steady) break;
  }
  return { mb: last, seconds: Math.round((performance.now() - started) / 1000) };
}

function residentMegabytes(server: ServerProcess): number {
  const status = fs.readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}
