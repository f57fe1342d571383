import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { runCli, startServerProcess, type ServerProcess } from '../../test/helpers/processes.ts';
import { createScratchDatabase } from '../../test/helpers/scratch-database.ts';
import { round, type Row } from './report.ts';

/** Start-up time and REST throughput of `GET /health` and `GET /namespaces`, on PGlite and PostgreSQL. */
export async function benchStartupAndRest(options: { seconds: number; connections: number; postgresUrl?: string }): Promise<Row[]> {
  const rows: Row[] = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-'));
  try {
    rows.push(...(await benchDatabase('PGlite', { DATA_DIR: dataDir }, options)));
    if (options.postgresUrl) {
      const scratch = await createScratchDatabase(options.postgresUrl, 'sb_bench');
      try {
        const env = { DATABASE_URL: scratch.url, SWITCHBOARD_SECRET: randomBytes(32).toString('base64url'), DATA_DIR: dataDir };
        rows.push(...(await benchDatabase('PostgreSQL', env, options)));
      } finally {
        await scratch.drop();
      }
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

async function benchDatabase(
  label: string,
  env: Record<string, string>,
  options: { seconds: number; connections: number },
): Promise<Row[]> {
  const rows: Row[] = [];
  const created = await runCli(['api-keys', 'create', '--name', 'bench', '--json'], env);
  if (created.code !== 0) throw new Error(`could not create a key: ${created.stderr}`);
  const { key } = JSON.parse(created.stdout) as { key: string };
  const section = `rest/${label}`;
  const wall: number[] = [];
  const internal: number[] = [];
  let server: ServerProcess | undefined;
  for (let i = 0; i < 4; i++) {
    const started = performance.now();
    server = await startServerProcess({ ...env, LOG_LEVEL: 'info' });
    wall.push(performance.now() - started);
    internal.push(server.startupMs);
    if (i < 3) await server.stop();
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  rows.push({ section, measure: 'first start (spawn → listening)', value: round(wall[0]!), unit: 'ms' });
  rows.push({ section, measure: 'warm start, median (spawn → listening)', value: round(median(wall.slice(1))), unit: 'ms' });
  rows.push({ section, measure: 'warm start, median (in process)', value: round(median(internal.slice(1))), unit: 'ms' });
  try {
    const auth = { authorization: `Bearer ${key}` };
    for (let i = 0; i < 20; i++) await fetch(`${server!.url}/namespaces/bench-ns-${i}`, { method: 'PUT', headers: auth });
    for (const [measure, url, headers] of [
      ['GET /health', `${server!.url}/health`, {}],
      ['GET /namespaces (20, page of 10)', `${server!.url}/namespaces`, auth],
    ] as const) {
      const result = await autocannon({ url, connections: options.connections, duration: options.seconds, headers });
      rows.push({
        section,
        measure: `${measure} @${options.connections}`,
        value: round(result.requests.average),
        unit: 'req/s',
        detail: `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${result.errors + result.non2xx} errors`,
      });
    }
  } finally {
    await server!.stop();
  }
  return rows;
}
