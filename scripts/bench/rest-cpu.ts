import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { startCountingUpstream } from '../../test/helpers/counting-upstream.ts';
import { runCli, startServerProcess } from '../../test/helpers/processes.ts';
import { round, type Row } from './report.ts';

const REQUESTS = 3000;
const CONNECTIONS = 4;

/**
 * The server process's CPU time per REST request (a tool call on a trivial upstream, and
 * `GET /namespaces`), on PGlite. CPU time, unlike throughput, barely moves with other load on
 * the machine, so runs on a shared machine can be compared: this is the measure that decides
 * whether patches/trpc-to-openapi+3.3.0.patch still pays (patches/README.md). Linux only
 * (reads /proc/<pid>/stat).
 */
export async function benchRestCpu(): Promise<Row[]> {
  const rows: Row[] = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-cpu-'));
  const env = { DATA_DIR: dataDir };
  const upstream = await startCountingUpstream({ listChanged: false });
  const created = await runCli(['api-keys', 'create', '--name', 'bench', '--json'], env);
  if (created.code !== 0) throw new Error(`could not create a key: ${created.stderr}`);
  const { key } = JSON.parse(created.stdout) as { key: string };
  const server = await startServerProcess(env);
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  try {
    await fetch(`${server.url}/namespaces/bench`, { method: 'PUT', headers });
    const connection = await fetch(`${server.url}/bench/cpu`, { method: 'PUT', headers, body: JSON.stringify({ mcpUrl: upstream.url }) });
    if (connection.status !== 201) throw new Error(`could not create the connection: ${connection.status} ${await connection.text()}`);
    const targets = [
      ['REST tool call', { url: `${server.url}/bench/cpu/.tools/echo`, method: 'POST' as const, body: JSON.stringify({ n: 1 }) }],
      ['GET /namespaces', { url: `${server.url}/namespaces`, method: 'GET' as const }],
    ] as const;
    for (const [measure, target] of targets) {
      await autocannon({ ...target, headers, connections: CONNECTIONS, amount: 1000 }); // warm-up
      const before = cpuMs(server.child.pid!);
      const result = await autocannon({ ...target, headers, connections: CONNECTIONS, amount: REQUESTS });
      const failed = result.errors + result.non2xx;
      if (failed) throw new Error(`${measure}: ${failed} of ${REQUESTS} requests failed`);
      rows.push({
        section: 'rest-cpu',
        measure: `${measure}, server CPU per request @${CONNECTIONS}`,
        value: round(((cpuMs(server.child.pid!) - before) * 1000) / REQUESTS),
        unit: 'µs',
        detail: `${REQUESTS} requests, p50 ${result.latency.p50} ms`,
      });
    }
  } finally {
    await server.stop();
    await upstream.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

/** User + system CPU time a process has used so far, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
