import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../setup/chromium.ts';

/**
 * Issue 4 as a browser app would live it: a page on another origin holds a service token
 * limited to alice's connections and talks to Switchboard with fetch from headless Chromium.
 * Every call with a bearer or a JSON body is preceded by a real CORS preflight, so this is
 * the CORS contract as a browser enforces it, not as a test client assumes it.
 */
const NS = 'browser-app';
const ALICE = 'alice-notes';
const BOB = 'bob-notes';
const artifacts = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

/** What the page reports for one request: everything a browser script can read of the answer. */
type Outcome = {
  status?: number;
  body?: unknown;
  /** Response headers the page can read, i.e. those exposed by CORS (or always safelisted). */
  headers?: Record<string, string | null>;
  /** A fetch that rejected (a CORS refusal is a TypeError with no status). */
  error?: string;
};
type Step = Outcome & { name: string };

/**
 * The page under test. Its script knows nothing of the test: it reads the API's URL, the token
 * and the connection ids from its fragment (never sent to a server), runs its calls, shows
 * them in a table and leaves them on `window.scenario` as a web app's state would be.
 */
const PAGE = String.raw`<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>Switchboard from a browser</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 24px; }
  table { border-collapse: collapse; }
  td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
  td.s2 { background: #e6f4e6; } td.s4 { background: #fdecea; }
  code { font-size: 12px; }
</style>
</head>
<body>
<h1>Alice's tools, from <span id="origin"></span></h1>
<p>API: <code id="api"></code></p>
<table><thead><tr><th>step</th><th>status</th><th>answer</th></tr></thead><tbody id="steps"></tbody></table>
<script>
const params = new URLSearchParams(location.hash.slice(1));
const api = params.get('api');
const token = params.get('token');
document.getElementById('origin').textContent = location.origin;
document.getElementById('api').textContent = api;

const READABLE = ['content-type', 'x-request-id', 'www-authenticate', 'mcp-session-id'];

async function callApi(method, path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (options.bearer !== false) headers.authorization = 'Bearer ' + token;
  let body;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  try {
    const response = await fetch(api + path, { method, headers, body });
    const readable = {};
    for (const name of READABLE) readable[name] = response.headers.get(name);
    const text = await response.text();
    return { status: response.status, headers: readable, body: parseAnswer(readable['content-type'], text) };
  } catch (error) {
    return { error: error.name + ': ' + error.message };
  }
}

/** JSON, or the JSON-RPC message carried by a text/event-stream answer. */
function parseAnswer(contentType, text) {
  if (!text) return null;
  if ((contentType || '').startsWith('text/event-stream')) {
    const messages = text.split(/\r?\n\r?\n/)
      .map((event) => event.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n'))
      .filter(Boolean)
      .map((data) => JSON.parse(data));
    return messages.find((m) => 'result' in m || 'error' in m) || messages.at(-1);
  }
  try { return JSON.parse(text); } catch { return text; }
}

function mcp(connectionId, message) {
  return callApi('POST', '/connect/' + params.get('ns') + '/' + connectionId + '/mcp', {
    json: { jsonrpc: '2.0', ...message },
    headers: { accept: 'application/json, text/event-stream', 'mcp-session-id': 'smithery-stateless' },
  });
}

async function runScenario() {
  const ns = params.get('ns'), alice = params.get('alice'), bob = params.get('bob');
  const steps = [
    ['no token', () => callApi('GET', '/' + ns, { bearer: false })],
    ['list connections', () => callApi('GET', '/' + ns)],
    ['list connections filtered to bob', () => callApi('GET', '/' + ns + '?metadata.userId=bob')],
    ['get alice', () => callApi('GET', '/' + ns + '/' + alice)],
    ['list alice tools', () => callApi('GET', '/' + ns + '/' + alice + '/.tools')],
    ['call echo over REST', () => callApi('POST', '/' + ns + '/' + alice + '/.tools/echo', { json: { message: 'hello over REST' } })],
    ['call echo over MCP', () => mcp(alice, { id: 7, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hello over MCP' } } })],
    ['list tools over MCP', () => mcp(alice, { id: 8, method: 'tools/list' })],
    ['get bob', () => callApi('GET', '/' + ns + '/' + bob)],
    ['list bob tools', () => callApi('GET', '/' + ns + '/' + bob + '/.tools')],
    ['call echo on bob over REST', () => callApi('POST', '/' + ns + '/' + bob + '/.tools/echo', { json: { message: 'not yours' } })],
    ['call echo on bob over MCP', () => mcp(bob, { id: 9, method: 'tools/call', params: { name: 'echo', arguments: { message: 'not yours' } } })],
    ['create a connection', () => callApi('POST', '/' + ns, { json: { mcpUrl: 'http://127.0.0.1:9/mcp', metadata: { userId: 'alice' } } })],
    ['delete alice', () => callApi('DELETE', '/' + ns + '/' + alice)],
    ['list namespaces', () => callApi('GET', '/namespaces')],
  ];
  const results = [];
  for (const [name, run] of steps) {
    const outcome = await run();
    results.push({ name, ...outcome });
    const row = document.createElement('tr');
    const status = outcome.status ?? 'failed';
    const answer = outcome.error ?? JSON.stringify(outcome.body);
    row.innerHTML = '<td></td><td class="s' + String(status)[0] + '"></td><td><code></code></td>';
    row.children[0].textContent = name;
    row.children[1].textContent = status;
    row.children[2].firstChild.textContent = answer.length > 140 ? answer.slice(0, 140) + '…' : answer;
    document.getElementById('steps').appendChild(row);
  }
  return results;
}

window.callApi = callApi;
// A page opened without connection ids only offers callApi.
window.scenario = params.has('alice') ? runScenario() : null;
</script>
</body>
</html>`;

let server: TestServer;
let fixture: Upstream;
let pages: http.Server;
let pageOrigin: string;
let browser: Browser;
let page: Page;
let token: string;
let steps: Step[];

async function startPageServer(): Promise<http.Server> {
  const host = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PAGE);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  return host;
}

function fragment(withScenario = true): string {
  const ids: Record<string, string> = withScenario ? { alice: ALICE, bob: BOB } : {};
  return new URLSearchParams({ api: server.url, token, ns: NS, ...ids }).toString();
}

beforeAll(async () => {
  pages = await startPageServer();
  const pagePort = (pages.address() as AddressInfo).port;
  pageOrigin = `http://127.0.0.1:${pagePort}`;
  // Only the page's origin may read answers, so a page served from anywhere else is refused.
  [server, fixture, browser] = await Promise.all([
    startTestServer({ CORS_ORIGINS: pageOrigin }),
    startFixtureUpstream('sessions'),
    chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS }),
  ]);
  expect(new URL(server.url).port).not.toBe(String(pagePort));

  const { key } = await server.newAccount('browser-app');
  expect((await server.request(`/namespaces/${NS}`, { method: 'PUT', bearer: key })).status).toBe(201);
  for (const [id, userId] of [
    [ALICE, 'alice'],
    [BOB, 'bob'],
  ] as const) {
    const made = await server.request(`/${NS}/${id}`, {
      method: 'PUT',
      bearer: key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mcpUrl: fixture.url, name: `${userId}'s notes`, metadata: { userId } }),
    });
    expect(made.status).toBe(201);
  }
  const minted = await server.request('/tokens', {
    method: 'POST',
    bearer: key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ policy: [{ namespaces: NS, metadata: { userId: 'alice' }, operations: ['read', 'execute'] }] }),
  });
  expect(minted.status).toBe(200);
  token = ((await minted.json()) as { token: string }).token;

  page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  await page.goto(`${pageOrigin}/#${fragment()}`);
  steps = (await page.evaluate(() => (window as unknown as { scenario: Promise<unknown> }).scenario)) as Step[];
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, 'token-in-browser.png'), fullPage: true });
});

afterAll(async () => {
  try {
    await browser?.close();
    await new Promise<void>((resolve) => {
      if (!pages) return resolve();
      pages.close(() => resolve());
      pages.closeAllConnections();
    });
  } finally {
    try {
      await server?.close();
    } finally {
      await fixture?.stop();
    }
  }
});

function step(name: string): Step {
  const found = steps.find((s) => s.name === name);
  if (!found) throw new Error(`the page ran no step "${name}"`);
  return found;
}

type CallResult = { content: { type: string; text?: string }[]; isError?: boolean };

describe('a page on another origin with a token for alice', () => {
  it('runs on an origin other than the API', () => {
    expect(new URL(page.url()).origin).toBe(pageOrigin);
    expect(new URL(server.url).origin).not.toBe(pageOrigin);
  });

  it.each([
    ['no token', 401, 'unauthorized'],
    ['get bob', 404, 'not_found'],
    ['list bob tools', 404, 'not_found'],
    ['call echo on bob over REST', 404, 'not_found'],
    ['create a connection', 403, 'forbidden'],
    ['delete alice', 403, 'forbidden'],
    ['list namespaces', 403, 'forbidden'],
  ])('"%s" is refused with %i (%s), and the page can read why', (name, status, error) => {
    const outcome = step(name);
    expect(outcome.error).toBeUndefined();
    expect(outcome.status).toBe(status);
    expect(outcome.body).toMatchObject({ error, message: expect.any(String) });
  });

  it('can read WWW-Authenticate on a 401 (an exposed header)', () => {
    expect(step('no token').headers?.['www-authenticate']).toMatch(/^Bearer /);
  });

  it('can read x-request-id on every answer (an exposed header)', () => {
    for (const outcome of steps.filter((s) => s.status !== undefined)) {
      expect(outcome.headers?.['x-request-id'], outcome.name).toMatch(/\S/);
    }
  });

  it('lists only alice\'s connection', () => {
    const outcome = step('list connections');
    expect(outcome.status).toBe(200);
    const { connections } = outcome.body as { connections: { connectionId: string; metadata: unknown }[] };
    expect(connections.map((c) => c.connectionId)).toEqual([ALICE]);
    expect(connections[0]!.metadata).toEqual({ userId: 'alice' });
  });

  it('finds nothing when it asks for bob\'s connections by metadata', () => {
    const outcome = step('list connections filtered to bob');
    expect(outcome.status).toBe(200);
    expect((outcome.body as { connections: unknown[] }).connections).toEqual([]);
  });

  it('gets alice\'s connection', () => {
    const outcome = step('get alice');
    expect(outcome.status).toBe(200);
    expect(outcome.body).toMatchObject({ connectionId: ALICE, metadata: { userId: 'alice' } });
  });

  it('lists alice\'s tools over REST', () => {
    const outcome = step('list alice tools');
    expect(outcome.status).toBe(200);
    expect((outcome.body as { tools: { name: string }[] }).tools.map((t) => t.name)).toContain('echo');
  });

  it('calls echo over REST (preflighted for authorization and content-type)', () => {
    const outcome = step('call echo over REST');
    expect(outcome.status).toBe(200);
    expect(outcome.body as CallResult).toMatchObject({ content: [{ type: 'text', text: 'Echo: hello over REST' }] });
  });

  it('calls echo over the MCP endpoint (preflighted for mcp-session-id too)', () => {
    const outcome = step('call echo over MCP');
    expect(outcome.status).toBe(200);
    expect(outcome.body).toMatchObject({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'Echo: hello over MCP' }] } });
  });

  it('lists tools over the MCP endpoint', () => {
    const outcome = step('list tools over MCP');
    expect(outcome.status).toBe(200);
    const { result } = outcome.body as { result: { tools: { name: string }[] } };
    expect(result.tools.map((t) => t.name)).toContain('echo');
  });

  it('gets 404 from bob\'s MCP endpoint', () => {
    const outcome = step('call echo on bob over MCP');
    expect(outcome.error).toBeUndefined();
    expect(outcome.status).toBe(404);
  });

  it('made the browser send real preflights, each answered 204', () => {
    const preflights = server.logs.filter((line) => line.route === 'preflight');
    // Every step but "no token" carries a bearer, so each needs one (until the cache takes over).
    expect(preflights.length).toBeGreaterThan(0);
    expect(preflights.every((line) => line.method === 'OPTIONS' && line.status === 204)).toBe(true);
  });
});

describe('the same page served from an origin the API does not allow', () => {
  it('cannot read the API: the browser refuses the answer', async () => {
    // localhost and 127.0.0.1 are different origins; only the latter is in CORS_ORIGINS.
    const other = await browser.newPage();
    try {
      const port = (pages.address() as AddressInfo).port;
      await other.goto(`http://localhost:${port}/#${fragment(false)}`);
      const outcomes = (await other.evaluate(async (ns) => {
        const callApi = (window as unknown as { callApi: (method: string, path: string, options?: object) => Promise<unknown> }).callApi;
        return [await callApi('GET', `/${ns}`), await callApi('GET', `/${ns}`, { bearer: false })];
      }, NS)) as Outcome[];
      for (const outcome of outcomes) {
        expect(outcome.status).toBeUndefined();
        expect(outcome.error).toMatch(/^TypeError/);
      }
    } finally {
      await other.close();
    }
  });
});
