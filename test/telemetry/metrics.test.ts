import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDb } from '../../src/db/open.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer } from '../../src/server.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { freePort, startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';
import { parseExposition, sum, type Exposition } from './prometheus-text.ts';

/**
 * /metrics after real traffic: REST calls, tool calls and MCP requests to a real upstream
 * (behind a counting pass-through, so the upstream counters can be checked against what
 * arrived), an upstream answering 503 and one nobody listens on. Counters must move by
 * exactly the traffic made, with route templates for labels, never raw paths or ids.
 */
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const NS = 'metrics-ns';

type Front = { url: string; host: string; requests: number; close(): Promise<void> };

/** A loopback server that counts requests, and either passes them to `target` or answers 503. */
async function startFront(target: Upstream | 'fail'): Promise<Front> {
  const server = http.createServer((req, res) => {
    front.requests++;
    if (target === 'fail') {
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
      return;
    }
    const upstream = http.request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      // An event stream may stay silent: its headers must not wait for a first event.
      res.flushHeaders();
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const front: Front = {
    url: `http://${host}/mcp`,
    host,
    requests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return front;
}

let server: TestServer;
let key: string;
let fixture: Upstream;
let front: Front;
let failing: Front;
let deadHost: string;

async function scrape(): Promise<Exposition> {
  const response = await server.request('/metrics', { bearer: METRICS_TOKEN });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await response.text());
}

function json(method: string, body: unknown): RequestInit & { bearer: string } {
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), bearer: key };
}

beforeAll(async () => {
  fixture = await startFixtureUpstream('sessions');
  [front, failing] = await Promise.all([startFront(fixture), startFront('fail')]);
  deadHost = `127.0.0.1:${await freePort()}`;
  server = await startTestServer({ METRICS_TOKEN });
  ({ key } = await server.newAccount());
  expect((await server.request(`/namespaces/${NS}`, { method: 'PUT', bearer: key })).status).toBe(201);
});

afterAll(async () => {
  await server?.close();
  await Promise.all([front?.close(), failing?.close(), fixture?.stop()]);
});

describe('/metrics on the main port with METRICS_TOKEN', () => {
  it.each([
    ['no token', undefined],
    ['a wrong token', 'metrics-token-0123456789abcdeX'],
    ['an API key', 'api-key'],
  ])('answers 401 to %s', async (_, bearer) => {
    const response = await server.request('/metrics', { bearer: bearer === 'api-key' ? key : bearer });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await response.json()).toMatchObject({ error: 'unauthorized' });
  });

  it('serves the exposition format to the right token, with Node default metrics on our registry', async () => {
    const exposition = await scrape();
    expect(exposition.types.get('switchboard_http_requests_total')).toBe('counter');
    expect(exposition.types.get('switchboard_http_request_duration_seconds')).toBe('histogram');
    expect(sum(exposition, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(exposition.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(sum(exposition, 'switchboard_db_pool_size')).toBe(testDatabaseKind === 'postgres' ? 5 : 1);
  });

  it('counts REST requests by route template and status, exactly', async () => {
    const before = await scrape();
    for (let i = 0; i < 3; i++) expect((await server.request('/namespaces', { bearer: key })).status).toBe(200);
    expect((await server.request('/namespaces', { bearer: 'sk_wrong_key' })).status).toBe(401);
    expect((await server.request(`/${NS}/no-such-connection`, { bearer: key })).status).toBe(404);
    const after = await scrape();
    const delta = (labels: Record<string, string>) =>
      sum(after, 'switchboard_http_requests_total', labels) - sum(before, 'switchboard_http_requests_total', labels);
    expect(delta({ method: 'GET', route: '/namespaces', status: '200' })).toBe(3);
    expect(delta({ method: 'GET', route: '/namespaces', status: '401' })).toBe(1);
    expect(delta({ method: 'GET', route: '/{namespace}/{connectionId}', status: '404' })).toBe(1);
    // The scrapes themselves: the one `before` (counted once it ended) and none of `after` yet.
    expect(delta({ route: '/metrics', status: '200' })).toBe(1);
    const histogramDelta =
      sum(after, 'switchboard_http_request_duration_seconds_count', { method: 'GET', route: '/namespaces' }) -
      sum(before, 'switchboard_http_request_duration_seconds_count', { method: 'GET', route: '/namespaces' });
    expect(histogramDelta).toBe(4);
    // Four API-key requests looked the key up in its cache: the first may miss, the rest hit.
    const lookups = (e: Exposition) => sum(e, 'switchboard_cache_requests_total', { cache: 'api_keys' });
    expect(lookups(after) - lookups(before)).toBe(4);
    expect(
      sum(after, 'switchboard_cache_requests_total', { cache: 'api_keys', result: 'hit' }) -
        sum(before, 'switchboard_cache_requests_total', { cache: 'api_keys', result: 'hit' }),
    ).toBeGreaterThanOrEqual(3);
  });

  it('counts upstream calls by host as they reached the upstream, and failures by reason', async () => {
    const before = await scrape();
    const frontBefore = front.requests;
    expect((await server.request(`/${NS}/good`, json('PUT', { mcpUrl: front.url }))).status).toBe(201);
    const call = await server.request(`/${NS}/good/.tools/echo`, json('POST', { message: 'hi' }));
    expect(call.status).toBe(200);
    const mcp = await server.request(`/connect/${NS}/good/mcp`, {
      ...json('POST', { jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'smithery-stateless' },
    });
    expect(mcp.status).toBe(200);
    await mcp.text();
    // The upstream failing with 503, and an upstream nobody listens on.
    expect((await server.request(`/${NS}/failing`, json('PUT', { mcpUrl: failing.url }))).status).toBe(201);
    expect((await server.request(`/${NS}/failing/.tools`, { bearer: key })).status).toBeGreaterThanOrEqual(400);
    expect((await server.request(`/${NS}/dead`, json('PUT', { mcpUrl: `http://${deadHost}/mcp` }))).status).toBe(201);
    expect((await server.request(`/${NS}/dead/.tools`, { bearer: key })).status).toBeGreaterThanOrEqual(400);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => sum(after, name, labels) - sum(before, name, labels);

    const reached = front.requests - frontBefore;
    expect(reached).toBeGreaterThanOrEqual(3);
    // Counted when the answer's headers are back: the session's background event stream (GET) may still be on its way.
    await expect
      .poll(async () => sum(await scrape(), 'switchboard_upstream_requests_total', { host: front.host }) - sum(before, 'switchboard_upstream_requests_total', { host: front.host }))
      .toBe(reached);
    const settled = await scrape();
    const settledDelta = (name: string, labels: Record<string, string>) => sum(settled, name, labels) - sum(before, name, labels);
    expect(settledDelta('switchboard_upstream_request_duration_seconds_count', { host: front.host })).toBe(reached);
    expect(settledDelta('switchboard_upstream_requests_total', { host: front.host, status_class: '2xx' })).toBeGreaterThanOrEqual(3);
    expect(settledDelta('switchboard_upstream_errors_total', { host: front.host })).toBe(0);

    expect(failing.requests).toBeGreaterThanOrEqual(1);
    expect(delta('switchboard_upstream_requests_total', { host: failing.host, status_class: '5xx' })).toBe(failing.requests);
    expect(delta('switchboard_upstream_errors_total', { host: failing.host, reason: 'status_5xx' })).toBe(failing.requests);

    const refused = delta('switchboard_upstream_errors_total', { host: deadHost, reason: 'network' });
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(delta('switchboard_upstream_requests_total', { host: deadHost, status_class: 'error' })).toBe(refused);

    expect(delta('switchboard_http_requests_total', { method: 'POST', route: '/{namespace}/{connectionId}/.tools/{toolPath}', status: '200' })).toBe(1);
    expect(delta('switchboard_http_requests_total', { method: 'POST', route: '/connect/{namespace}/{connectionId}/mcp', status: '200' })).toBe(1);
    expect(delta('switchboard_cache_requests_total', { cache: 'connections' })).toBeGreaterThanOrEqual(2);
  });

  it('reports the database honestly: queries counted and timed, none in flight and no connection out when idle', async () => {
    const before = await scrape();
    const queriesBefore = server.queryCount;
    expect((await server.request('/namespaces', { method: 'POST', bearer: key })).status).toBe(201);
    const after = await scrape();
    const sent = server.queryCount - queriesBefore;
    expect(sent).toBeGreaterThan(0);
    const timed = sum(after, 'switchboard_db_query_duration_seconds_count') - sum(before, 'switchboard_db_query_duration_seconds_count');
    // Kysely logs the queries it sends; ours also times transaction control (begin, commit), which it does not log.
    expect(timed).toBeGreaterThanOrEqual(sent);
    expect(sum(after, 'switchboard_db_queries_in_flight')).toBe(0);
    expect(sum(after, 'switchboard_db_connections_in_use')).toBe(0);
  });

  it('never labels with raw paths, ids or names a caller chose', async () => {
    const text = await (await server.request('/metrics', { bearer: METRICS_TOKEN })).text();
    for (const chosen of [NS, 'good', 'failing', 'no-such-connection', 'echo', key]) {
      expect(text).not.toMatch(new RegExp(`="[^"]*${chosen}[^"]*"`));
    }
    const routes = new Set(parseExposition(text).samples.filter((s) => s.name === 'switchboard_http_requests_total').map((s) => s.labels.route));
    for (const route of routes) expect(route).toMatch(/^(\/[a-z.]*|\/\{[a-zA-Z]+\}|\/[a-z.]+\/\{[a-zA-Z]+\})+$|^(unmatched|preflight|\/trpc)$/);
  });
});

describe('/metrics elsewhere', () => {
  it('answers 404 with how to enable it when neither METRICS_TOKEN nor METRICS_PORT is set', async () => {
    const plain = await startTestServer();
    try {
      const { key: plainKey } = await plain.newAccount();
      for (const bearer of [undefined, plainKey]) {
        const response = await plain.request('/metrics', { bearer });
        expect(response.status).toBe(404);
        const body = (await response.json()) as { error: string; message: string };
        expect(body.error).toBe('not_found');
        expect(body.message).toMatch(/METRICS_TOKEN/);
        expect(body.message).toMatch(/METRICS_PORT/);
      }
    } finally {
      await plain.close();
    }
  });

  it('serves a separate listener on METRICS_PORT without auth, and nothing on the main port', async () => {
    const port = await freePort();
    const separate = await startTestServer({ METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' });
    try {
      expect((await separate.request('/health')).status).toBe(200);
      const scraped = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(scraped.status).toBe(200);
      const exposition = parseExposition(await scraped.text());
      expect(sum(exposition, 'switchboard_http_requests_total', { route: '/health', status: '200' })).toBe(1);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status).toBe(405);
      const mainPort = await separate.request('/metrics');
      expect(mainPort.status).toBe(404);
      expect(((await mainPort.json()) as { message: string }).message).toMatch(/METRICS_PORT listener/);
    } finally {
      await separate.close();
    }
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it('refuses to start, naming METRICS_PORT, when that port is taken', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-metrics-'));
    try {
      const config = loadConfig({
        PORT: '0',
        DATA_DIR: dataDir,
        SWITCHBOARD_SECRET: 'x'.repeat(40),
        METRICS_PORT: String((taken.address() as AddressInfo).port),
      });
      const logger = createLogger(config, { write: () => {} });
      await expect(startServer(config, logger, await openDb({ kind: 'memory' }))).rejects.toThrow(/^METRICS_PORT \d+ on 127\.0\.0\.1 is already in use$/);
    } finally {
      taken.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
