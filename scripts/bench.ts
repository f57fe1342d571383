import postgres from 'postgres';
import { benchProxy } from './bench/proxy.ts';
import { printRows, writeResults, type Row } from './bench/report.ts';
import { benchStartupAndRest } from './bench/rest.ts';
import { benchRestCpu } from './bench/rest-cpu.ts';
import { benchRoundTrips } from './bench/round-trips.ts';
import { benchScale } from './bench/scale.ts';
import { benchTokens } from './bench/tokens.ts';
import { buildService } from '../test/helpers/processes.ts';

/**
 * `npm run bench [-- section ...]`: starts what it measures on loopback, prints a table and
 * writes bench/results/<timestamp>.json. Not a test: numbers and ratios, no verdicts.
 * Sections: `proxy` (tools/call through Switchboard vs direct and vs nginx, trivial and SDK
 * upstreams, API key and service token), `tokens` (verification and policy checks in process),
 * `scale` (filtered listings over 100k/1M connections, first calls, memory), `rest` (start-up,
 * REST throughput), `rest-cpu` (the server's CPU time per REST request, which other load on
 * the machine barely moves; under a minute), `round-trips` (upstream requests and time per tool
 * call, REST and MCP, against an upstream that answers after 50 ms; a few seconds).
 *
 * BENCH_DATABASE_URL  PostgreSQL server to create scratch databases on
 *                     (default postgres://postgres@127.0.0.1:5432/postgres; skipped when unreachable)
 * BENCH_SECONDS       duration of each load run (default 10)
 * BENCH_CONNECTIONS   concurrent connections of the load runs (default 32)
 * BENCH_REQUESTS      sequential requests per target for latency at concurrency 1 (default 5000)
 * BENCH_PGLITE_ROWS   connections stored for the scale section on PGlite (default 100000)
 * BENCH_POSTGRES_ROWS connections stored for the scale section on PostgreSQL (default 1000000)
 * BENCH_ACTIVE        connections used (upstream sessions open) in the scale section (default 1000)
 */
const settings = {
  seconds: Number(process.env.BENCH_SECONDS ?? 10),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
  requests: Number(process.env.BENCH_REQUESTS ?? 5000),
};
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const sections = process.argv.slice(2);
const wanted = (name: string) => sections.length === 0 || sections.includes(name);

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

// Switchboard runs as `npm start` runs it: compiled, with no TypeScript loader in the process.
buildService();
const rows: Row[] = [];
if (wanted('tokens')) rows.push(...(await benchTokens()));
if (wanted('proxy')) rows.push(...(await benchProxy(settings)));
if (wanted('round-trips')) rows.push(...(await benchRoundTrips()));
if (wanted('rest-cpu')) rows.push(...(await benchRestCpu()));
const reachable = await postgresReachable();
if (!reachable) process.stdout.write(`PostgreSQL at ${adminUrl} not reachable: its rows are skipped\n`);
if (wanted('scale')) {
  rows.push(
    ...(await benchScale({
      postgresUrl: reachable ? adminUrl : undefined,
      pgliteRows: Number(process.env.BENCH_PGLITE_ROWS ?? 100_000),
      postgresRows: Number(process.env.BENCH_POSTGRES_ROWS ?? 1_000_000),
      active: Number(process.env.BENCH_ACTIVE ?? 1000),
    })),
  );
}
if (wanted('rest')) {
  rows.push(...(await benchStartupAndRest({ ...settings, postgresUrl: reachable ? adminUrl : undefined })));
}
printRows(rows);
process.stdout.write(`\nwrote ${writeResults(rows, settings)}\n`);
