import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { freePort, projectRoot, runCli, spawnUntilReady, startServerProcess } from '../lib/processes.ts';
import { quantile, round, type Row } from './report.ts';

/**
 * A proxied `tools/call` through Switchboard against the same call made directly, with a
 * trivial upstream (canned answers) so that Switchboard is what is measured: latency at
 * concurrency 1 (our own timed loop, microsecond resolution) and throughput at 32
 * (autocannon). Both targets run in the same process setup, alternating, in one run.
 */
export async function benchProxy(options: { seconds: number; connections: number; requests: number }): Promise<Row[]> {
  const section = 'proxy';
  const rows: Row[] = [];
  const add = (measure: string, value: number, unit: string, detail?: string) =>
    rows.push({ section, measure, value, unit, ...(detail ? { detail } : {}) });
  const upstreamPort = await freePort();
  const upstream = await spawnUntilReady(
    ['--import', 'tsx', path.join(projectRoot, 'scripts', 'lib', 'trivial-upstream.ts'), String(upstreamPort)],
    {},
    /^listening/m,
  );
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-proxy-'));
  const env = { DATA_DIR: dataDir };
  const created = await runCli(['api-keys', 'create', '--name', 'bench', '--json'], env);
  if (created.code !== 0) throw new Error(`could not create a key: ${created.stderr}`);
  const { key } = JSON.parse(created.stdout) as { key: string };
  const server = await startServerProcess({ ...env, LOG_LEVEL: 'info' });
  try {
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    await fetch(`${server.url}/namespaces/bench`, { method: 'PUT', headers: auth });
    const upstreamUrl = `http://127.0.0.1:${upstreamPort}/mcp`;
    const made = await fetch(`${server.url}/bench/trivial`, { method: 'PUT', headers: auth, body: JSON.stringify({ mcpUrl: upstreamUrl }) });
    if (made.status !== 201) throw new Error(`could not create the connection: ${made.status} ${await made.text()}`);

    const minted = await fetch(`${server.url}/tokens`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ policy: [{ namespaces: 'bench', operations: 'execute', rpcReqMatch: { method: '^tools/call$', 'params.name': '^echo$' } }] }),
    });
    const { token } = (await minted.json()) as { token: string };

    const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } });
    const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const targets = {
      direct: { url: upstreamUrl, headers: { ...mcpHeaders, 'mcp-session-id': 'trivial-session', 'mcp-protocol-version': '2025-11-25' } },
      switchboard: { url: `${server.url}/connect/bench/trivial/mcp`, headers: { ...mcpHeaders, authorization: `Bearer ${key}` } },
      'switchboard+token': { url: `${server.url}/connect/bench/trivial/mcp`, headers: { ...mcpHeaders, authorization: `Bearer ${token}` } },
    };
    const names = ['direct', 'switchboard', 'switchboard+token'] as const;
    type Target = (typeof names)[number];

    const latencies: Record<Target, number[]> = { direct: [], switchboard: [], 'switchboard+token': [] };
    const blocks = 10;
    for (let block = 0; block < blocks; block++) {
      for (const name of names) {
        const samples = await timeSequential(targets[name].url, targets[name].headers, call, Math.ceil(options.requests / blocks));
        // The first block of each warms connections and code paths.
        if (block > 0) latencies[name].push(...samples);
      }
    }
    const p = (name: Target, q: number) => quantile([...latencies[name]].sort((a, b) => a - b), q);
    for (const name of names) {
      add(`tools/call ${name} p50 @1`, round(p(name, 0.5)), 'µs', `${latencies[name].length} calls`);
      add(`tools/call ${name} p99 @1`, round(p(name, 0.99)), 'µs');
    }
    add('added latency p50 @1', round(p('switchboard', 0.5) - p('direct', 0.5)), 'µs');
    add('added latency p99 @1', round(p('switchboard', 0.99) - p('direct', 0.99)), 'µs');
    add('service token vs API key, p50 @1', round(p('switchboard+token', 0.5) - p('switchboard', 0.5)), 'µs', 'token verification + policy check');

    const throughput: Record<string, number> = {};
    for (const name of names) {
      const result = await autocannon({
        url: targets[name].url,
        method: 'POST',
        headers: targets[name].headers,
        body: call,
        connections: options.connections,
        duration: options.seconds,
      });
      throughput[name] = result.requests.average;
      add(`tools/call ${name} @${options.connections}`, round(result.requests.average), 'req/s', `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${result.errors + result.non2xx} errors`);
    }
    add(`throughput switchboard / direct @${options.connections}`, round(throughput.switchboard! / throughput.direct!, 2), 'ratio');
    add(`throughput token / API key @${options.connections}`, round(throughput['switchboard+token']! / throughput.switchboard!, 2), 'ratio');
    return rows;
  } finally {
    await server.stop();
    upstream.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** One request at a time on one kept-alive connection; each latency in microseconds. */
async function timeSequential(url: string, headers: Record<string, string>, body: string, count: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const payload = Buffer.from(body);
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = process.hrtime.bigint();
      await new Promise<void>((resolve, reject) => {
        const request = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': payload.length } }, (response) => {
          if (response.statusCode !== 200) reject(new Error(`${url} answered ${response.statusCode}`));
          response.on('data', () => {});
          response.on('end', resolve);
        });
        request.on('error', reject);
        request.end(payload);
      });
      samples.push(Number(process.hrtime.bigint() - started) / 1000);
    }
  } finally {
    agent.destroy();
  }
  return samples;
}
