import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { freePort, projectRoot, runCli, spawnUntilReady, startServerProcess } from '../../test/helpers/processes.ts';
import { ensureNginx, startNginx, type NginxProxy } from './nginx.ts';
import { quantile, round, type Row } from './report.ts';

type Target = { url: string; headers: Record<string, string> };
type Options = { seconds: number; connections: number; requests: number };

const CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } });
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/**
 * A proxied `tools/call` through Switchboard against the same call made directly and, as the
 * reference for what a proxy costs here, through nginx. Two upstreams: a trivial one (canned
 * answers, so the proxy is what is measured) and a real MCP SDK server. Latency at concurrency
 * 1 (our own timed loop, microsecond resolution, targets interleaved in blocks), throughput at
 * 32 (autocannon). Everything in one run, so the ratios compare like with like.
 */
export async function benchProxy(options: Options): Promise<Row[]> {
  const rows: Row[] = [];
  const add = (section: string, measure: string, value: number, unit: string, detail?: string) =>
    rows.push({ section, measure, value, unit, ...(detail ? { detail } : {}) });
  const trivialPort = await freePort();
  const sdkPort = await freePort();
  const nodeProxyPort = await freePort();
  const children = await Promise.all([
    spawnUntilReady(['--import', 'tsx', path.join(projectRoot, 'scripts', 'lib', 'trivial-upstream.ts'), String(trivialPort)], {}, /^listening/m),
    spawnUntilReady(['--import', 'tsx', path.join(projectRoot, 'test', 'fixtures', 'upstream-server.ts'), 'sessions', String(sdkPort)], {}, /^listening/m),
    spawnUntilReady(
      ['--import', 'tsx', path.join(projectRoot, 'scripts', 'lib', 'minimal-node-proxy.ts'), String(nodeProxyPort), `http://127.0.0.1:${trivialPort}`],
      {},
      /^listening/m,
    ),
  ]);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-proxy-'));
  const env = { DATA_DIR: dataDir };
  const created = await runCli(['api-keys', 'create', '--name', 'bench', '--json'], env);
  if (created.code !== 0) throw new Error(`could not create a key: ${created.stderr}`);
  const { key } = JSON.parse(created.stdout) as { key: string };
  // The token is rate limited as in production, at a limit the run never reaches: its figures
  // include the limiter's cost.
  const server = await startServerProcess({ ...env, RATE_LIMIT_TOKEN_PER_MINUTE: '100000000' });
  const nginx: NginxProxy | undefined = ensureNginx() ? await startNginx(trivialPort) : undefined;
  try {
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    await fetch(`${server.url}/namespaces/bench`, { method: 'PUT', headers: auth });
    const trivialUrl = `http://127.0.0.1:${trivialPort}/mcp`;
    const sdkUrl = `http://127.0.0.1:${sdkPort}/mcp`;
    for (const [id, mcpUrl] of [['trivial', trivialUrl], ['sdk', sdkUrl]] as const) {
      const made = await fetch(`${server.url}/bench/${id}`, { method: 'PUT', headers: auth, body: JSON.stringify({ mcpUrl }) });
      if (made.status !== 201) throw new Error(`could not create the connection: ${made.status} ${await made.text()}`);
    }
    const minted = await fetch(`${server.url}/tokens`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ policy: [{ namespaces: 'bench', operations: 'execute', rpcReqMatch: { method: '^tools/call$', 'params.name': '^echo$' } }] }),
    });
    const { token } = (await minted.json()) as { token: string };
    const through = (id: string, bearer: string): Target => ({
      url: `${server.url}/connect/bench/${id}/mcp`,
      headers: { ...MCP_HEADERS, authorization: `Bearer ${bearer}` },
    });

    const trivial: Record<string, Target> = {
      direct: { url: trivialUrl, headers: { ...MCP_HEADERS, 'mcp-session-id': 'trivial-session', 'mcp-protocol-version': '2025-11-25' } },
      ...(nginx ? { nginx: { url: `${nginx.url}/mcp`, headers: { ...MCP_HEADERS, 'mcp-session-id': 'trivial-session', 'mcp-protocol-version': '2025-11-25' } } } : {}),
      'node-proxy': { url: `http://127.0.0.1:${nodeProxyPort}/mcp`, headers: { ...MCP_HEADERS, 'mcp-session-id': 'trivial-session', 'mcp-protocol-version': '2025-11-25' } },
      switchboard: through('trivial', key),
      'switchboard+token': through('trivial', token),
    };
    const sdkSession = await openSession(sdkUrl);
    const sdk: Record<string, Target> = {
      direct: { url: sdkUrl, headers: { ...MCP_HEADERS, 'mcp-session-id': sdkSession, 'mcp-protocol-version': '2025-11-25' } },
      switchboard: through('sdk', key),
    };

    for (const [section, targets] of [['proxy/trivial', trivial], ['proxy/sdk', sdk]] as const) {
      const latency = await measureLatency(targets, options.requests);
      const p = (name: string, q: number) => quantile(latency[name]!, q);
      for (const name of Object.keys(targets)) {
        add(section, `tools/call ${name} p50 @1`, round(p(name, 0.5)), 'µs', `${latency[name]!.length} calls`);
        add(section, `tools/call ${name} p99 @1`, round(p(name, 0.99)), 'µs');
      }
      const throughput: Record<string, number> = {};
      for (const [name, target] of Object.entries(targets)) {
        const result = await autocannon({ url: target.url, method: 'POST', headers: target.headers, body: CALL, connections: options.connections, duration: options.seconds });
        throughput[name] = result.requests.average;
        add(section, `tools/call ${name} @${options.connections}`, round(result.requests.average), 'req/s', `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${result.errors + result.non2xx} errors`);
      }
      const added = (name: string, q: number) => p(name, q) - p('direct', q);
      add(section, 'switchboard added latency p50 @1', round(added('switchboard', 0.5)), 'µs');
      add(section, 'switchboard added latency p99 @1', round(added('switchboard', 0.99)), 'µs');
      add(section, `throughput switchboard / direct @${options.connections}`, round(throughput.switchboard! / throughput.direct!, 2), 'ratio');
      if (targets['switchboard+token']) {
        add(section, 'service token vs API key p50 @1', round(p('switchboard+token', 0.5) - p('switchboard', 0.5)), 'µs', 'verification + policy check');
      }
      if (targets['node-proxy']) {
        add(section, 'minimal Node proxy added latency p50 @1', round(added('node-proxy', 0.5)), 'µs', 'node:http + undici, nothing checked: the floor for Node');
        add(section, `throughput switchboard / minimal Node proxy @${options.connections}`, round(throughput.switchboard! / throughput['node-proxy']!, 2), 'ratio');
      }
      if (targets.nginx) {
        add(section, 'nginx added latency p50 @1', round(added('nginx', 0.5)), 'µs');
        if (targets['node-proxy']) {
          const floor = added('node-proxy', 0.5) / Math.max(added('nginx', 0.5), 1);
          add(section, 'minimal Node proxy vs nginx: added p50, throughput', round(floor, 2), '×', `throughput ${round(throughput['node-proxy']! / throughput.nginx!, 2)}×`);
        }
        const latencyRatio = added('switchboard', 0.5) / Math.max(added('nginx', 0.5), 1);
        const throughputRatio = throughput.switchboard! / throughput.nginx!;
        add(section, 'target: added p50 ≤ 2× nginx’s', round(latencyRatio, 2), '×', latencyRatio <= 2 ? 'met' : 'missed');
        add(section, 'target: throughput ≥ 0.8× nginx’s', round(throughputRatio, 2), '×', throughputRatio >= 0.8 ? 'met' : 'missed');
      }
    }
    if (!nginx) add('proxy/trivial', 'nginx reference', 0, '-', 'skipped: nginx could not be installed');
    return rows;
  } finally {
    await nginx?.stop();
    await server.stop();
    for (const child of children) child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Interleaved blocks so that drift on a noisy machine lands on every target alike; the first block warms up. */
async function measureLatency(targets: Record<string, Target>, requests: number): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
  const blocks = 10;
  for (let block = 0; block < blocks; block++) {
    for (const [name, target] of Object.entries(targets)) {
      const taken = await timeSequential(target, Math.ceil(requests / blocks));
      if (block > 0) samples[name]!.push(...taken);
    }
  }
  for (const list of Object.values(samples)) list.sort((a, b) => a - b);
  return samples;
}

/** One request at a time on one kept-alive connection; each latency in microseconds. */
async function timeSequential(target: Target, count: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const payload = Buffer.from(CALL);
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = process.hrtime.bigint();
      await new Promise<void>((resolve, reject) => {
        const request = http.request(target.url, { method: 'POST', agent, headers: { ...target.headers, 'content-length': payload.length } }, (response) => {
          if (response.statusCode !== 200) reject(new Error(`${target.url} answered ${response.statusCode}`));
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

/** A 2025-11-25 session with an SDK server, as a direct client holds one. */
async function openSession(url: string): Promise<string> {
  const initialize = await fetch(url, {
    method: 'POST',
    headers: MCP_HEADERS,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    }),
  });
  const session = initialize.headers.get('mcp-session-id');
  await initialize.text();
  if (!session) throw new Error('the SDK upstream issued no session id');
  const headers = { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
  await (await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
  return session;
}
