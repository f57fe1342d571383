import postgres from 'postgres';
import { benchProxy } from './bench/proxy.ts';
import { printRows, writeResults, type Row } from './bench/report.ts';
import { benchStartupAndRest } from './bench/rest.ts';
import { benchTokens } from './bench/tokens.ts';

/**
 * `npm run bench [-- section ...]`: starts what it measures on loopback, prints a table and
 * writes bench/results/<timestamp>.json. Not a test: numbers and ratios, no verdicts.
 * Sections: `rest` (start-up, REST throughput), `proxy` (tools/call through Switchboard vs direct,
 * with an API key and with a service token), `tokens` (token verification and policy checks in process).
 *
 * BENCH_DATABASE_URL  PostgreSQL server to create scratch databases on
 *                     (default postgres://postgres@127.0.0.1:5432/postgres; skipped when unreachable)
 * BENCH_SECONDS       duration of each load run (default 10)
 * BENCH_CONNECTIONS   concurrent connections of the load runs (default 32)
 * BENCH_REQUESTS      sequential requests per target for latency at concurrency 1 (default 5000)
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

const rows: Row[] = [];
if (wanted('tokens')) rows.push(...benchTokens());
if (wanted('proxy')) rows.push(...(await benchProxy(settings)));
if (wanted('rest')) {
  const reachable = await postgresReachable();
  if (!reachable) process.stdout.write(`PostgreSQL at ${adminUrl} not reachable: its rows are skipped\n`);
  rows.push(...(await benchStartupAndRest({ ...settings, postgresUrl: reachable ? adminUrl : undefined })));
}
printRows(rows);
process.stdout.write(`\nwrote ${writeResults(rows, settings)}\n`);
