import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCountingUpstream, type CountingUpstream } from '../../test/helpers/counting-upstream.ts';
import { runCli, startServerProcess } from '../../test/helpers/processes.ts';
import { round, type Row } from './report.ts';

/** How long the upstream takes to answer each request: one round trip. */
const ROUND_TRIP_MS = 50;
const STEADY_CALLS = 20;
const FIRST_CALLS = 3;
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/**
 * What a tool call costs upstream, with an upstream that answers every request after 50 ms: per
 * call time (in round trips) and upstream requests per call, for a REST call and a call
 * through the MCP endpoint, in steady state and as the first call on a new connection, and
 * what creating a connection costs. A few seconds; targets (steady ≤ 1.1 round trips of time
 * and exactly one request, first call ≤ 2 round trips) are for the reader to check.
 */
export async function benchRoundTrips(): Promise<Row[]> {
  const rows: Row[] = [];
  const section = 'round-trips';
  const add = (measure: string, value: number, unit: string, detail?: string) => rows.push({ section, measure, value, unit, ...(detail ? { detail } : {}) });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-rt-'));
  const env = { DATA_DIR: dataDir };
  const upstream = await startCountingUpstream({ delayMs: ROUND_TRIP_MS, listChanged: false });
  const created = await runCli(['api-keys', 'create', '--name', 'bench', '--json'], env);
  if (created.code !== 0) throw new Error(`could not create a key: ${created.stderr}`);
  const { key } = JSON.parse(created.stdout) as { key: string };
  const server = await startServerProcess(env);
  const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const calls: Record<'REST' | 'MCP', (id: string, n: number) => Promise<void>> = {
    REST: async (id, n) => {
      const response = await fetch(`${server.url}/bench/${id}/.tools/echo`, { method: 'POST', headers: auth, body: JSON.stringify({ n }) });
      if (response.status !== 200) throw new Error(`REST call answered ${response.status}: ${await response.text()}`);
      await response.text();
    },
    MCP: async (id, n) => {
      const response = await fetch(`${server.url}/connect/bench/${id}/mcp`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, authorization: `Bearer ${key}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: n, method: 'tools/call', params: { name: 'echo', arguments: { n } } }),
      });
      if (response.status !== 200) throw new Error(`MCP call answered ${response.status}: ${await response.text()}`);
      await response.text();
    },
  };
  let made = 0;
  const createConnection = async (): Promise<{ id: string; ms: number; requests: number }> => {
    const id = `rt-${++made}`;
    const measured = await measure(upstream, async () => {
      const response = await fetch(`${server.url}/bench/${id}`, { method: 'PUT', headers: auth, body: JSON.stringify({ mcpUrl: upstream.url }) });
      if (response.status !== 201) throw new Error(`could not create the connection: ${response.status} ${await response.text()}`);
    });
    return { id, ...measured };
  };
  try {
    await fetch(`${server.url}/namespaces/bench`, { method: 'PUT', headers: auth });
    const creations: { ms: number; requests: number }[] = [];
    for (const [kind, call] of Object.entries(calls)) {
      const firsts: { ms: number; requests: number }[] = [];
      for (let i = 0; i < FIRST_CALLS; i++) {
        const connection = await createConnection();
        creations.push(connection);
        firsts.push(await measure(upstream, () => call(connection.id, 0)));
      }
      const steadyOn = (await createConnection()).id;
      await call(steadyOn, 0);
      const steady: { ms: number; requests: number }[] = [];
      for (let n = 1; n <= STEADY_CALLS; n++) steady.push(await measure(upstream, () => call(steadyOn, n)));
      for (const [label, samples] of [['steady call', steady], ['first call on a new connection', firsts]] as const) {
        const ms = median(samples.map((s) => s.ms));
        const requests = samples.reduce((sum, s) => sum + s.requests, 0) / samples.length;
        add(`${kind} ${label}`, round(ms, 1), 'ms', `${round(ms / ROUND_TRIP_MS, 2)} round trips, ${round(requests, 2)} upstream requests per call (median of ${samples.length})`);
      }
    }
    const creationMs = median(creations.map((c) => c.ms));
    add('creating a connection', round(creationMs, 1), 'ms', `${round(creationMs / ROUND_TRIP_MS, 2)} round trips, ${round(median(creations.map((c) => c.requests)), 1)} upstream requests besides the session's stream (median of ${creations.length})`);
  } finally {
    await server.stop();
    await upstream.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

async function measure(upstream: CountingUpstream, work: () => Promise<void>): Promise<{ ms: number; requests: number }> {
  const before = upstream.requests.length;
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  // The GET that opens a new session's stream goes out in the background, whenever: left out.
  return { ms, requests: upstream.requests.slice(before).filter((request) => request !== 'GET /mcp').length };
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}
