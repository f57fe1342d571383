import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { projectRoot, runCli, startServerProcess, type ServerProcess } from './lib/processes.ts';
import { createScratchDatabase } from './lib/scratch-database.ts';

/**
 * `npm run bench`: starts Switchboard as a real process on loopback, on PGlite and (when
 * reachable) PostgreSQL, and measures start-up time and REST throughput with autocannon.
 * Prints a table and writes bench/results/<timestamp>.json. Not a test: numbers, no verdicts.
 *
 * BENCH_DATABASE_URL  PostgreSQL server to create a scratch database on
 *                     (default postgres://postgres@127.0.0.1:5432/postgres)
 * BENCH_SECONDS       duration of each load run (default 10)
 * BENCH_CONNECTIONS   concurrent connections (default 32)
 */
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

type Row = { database: string; measure: string; value: number; unit: string; detail?: string };
const rows: Row[] = [];

async function load(url: string, headers: Record<string, string>): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration: seconds, headers, pipelining: 1 });
}

async function measureStartups(label: string, env: Record<string, string | undefined>, count: number): Promise<ServerProcess> {
  const wall: number[] = [];
  const internal: number[] = [];
  let server: ServerProcess | undefined;
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    server = await startServerProcess({ ...env, LOG_LEVEL: 'info' });
    wall.push(performance.now() - started);
    internal.push(server.startupMs);
    if (i < count - 1) await server.stop();
  }
  rows.push({ database: label, measure: 'first start (process spawn → listening)', value: Math.round(wall[0]!), unit: 'ms' });
  const warm = wall.slice(1).sort((a, b) => a - b);
  if (warm.length > 0) {
    rows.push({ database: label, measure: 'warm start, median (process spawn → listening)', value: Math.round(warm[Math.floor(warm.length / 2)]!), unit: 'ms' });
    rows.push({ database: label, measure: 'warm start, median (in-process: config → listening)', value: Math.round(internal.slice(1).sort((a, b) => a - b)[Math.floor(internal.length / 2) - 1] ?? 0), unit: 'ms' });
  }
  return server!;
}

async function benchDatabase(label: string, env: Record<string, string | undefined>): Promise<void> {
  const created = await runCli(['api-keys', 'create', '--name', 'bench', '--json'], env);
  if (created.code !== 0) throw new Error(`could not create a key: ${created.stderr}`);
  const { key } = JSON.parse(created.stdout) as { key: string };
  const server = await measureStartups(label, env, 4);
  try {
    const auth = { authorization: `Bearer ${key}` };
    for (let i = 0; i < 20; i++) await fetch(`${server.url}/namespaces/bench-ns-${i}`, { method: 'PUT', headers: auth });
    // Silence request logs while loading: they go to a pipe we do not read quickly.
    for (const [measure, url, headers] of [
      ['GET /health', `${server.url}/health`, {}],
      ['GET /namespaces (20 namespaces, page of 10)', `${server.url}/namespaces`, auth],
    ] as const) {
      const result = await load(url, headers);
      const errors = result.errors + result.non2xx;
      rows.push({
        database: label,
        measure: `${measure} throughput @${connections}`,
        value: Math.round(result.requests.average),
        unit: 'req/s',
        detail: `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${errors} errors`,
      });
    }
  } finally {
    await server.stop();
  }
}

async function postgresReachable(): Promise<boolean> {
  const probe = postgres(adminUrl, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await probe`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await probe.end();
  }
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-'));
try {
  await benchDatabase('PGlite', { DATA_DIR: dataDir });
  if (await postgresReachable()) {
    const scratch = await createScratchDatabase(adminUrl, 'sb_bench');
    try {
      await benchDatabase('PostgreSQL', {
        DATABASE_URL: scratch.url,
        SWITCHBOARD_SECRET: randomBytes(32).toString('base64url'),
        DATA_DIR: dataDir,
      });
    } finally {
      await scratch.drop();
    }
  } else {
    process.stdout.write(`PostgreSQL at ${adminUrl} not reachable: skipped\n`);
  }
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
}

const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, memoryGiB: Math.round(os.totalmem() / 2 ** 30) };
process.stdout.write(`\n${'database'.padEnd(11)} ${'measure'.padEnd(58)} ${'value'.padStart(8)} unit   detail\n`);
for (const row of rows) {
  process.stdout.write(`${row.database.padEnd(11)} ${row.measure.padEnd(58)} ${String(row.value).padStart(8)} ${row.unit.padEnd(6)} ${row.detail ?? ''}\n`);
}
const resultsDir = path.join(projectRoot, 'bench', 'results');
fs.mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(file, `${JSON.stringify({ machine, seconds, connections, rows }, null, 2)}\n`);
process.stdout.write(`\nwrote ${path.relative(projectRoot, file)}\n`);
