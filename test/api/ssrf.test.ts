import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { freePort, startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';
import { continueAuthorizationLink } from '../helpers/authorization-link.ts';

/**
 * SSRF: a connection's mcpUrl, and the OAuth discovery it leads to, may not reach loopback,
 * link-local (cloud metadata), private or reserved addresses, nor other schemes — checked on
 * the URL at create/update, again after DNS resolution, and on every redirect hop — unless the
 * operator's ALLOWED_UPSTREAM_HOSTS opens them. Every loopback target here counts what reaches
 * it, so a refusal is shown to happen before any connection, and each refusal has a positive
 * control: the same target with the allowlist set is reached.
 */

type Status = { state: string; message?: string; authorizationUrl?: string };
type Connection = { connectionId: string; mcpUrl: string; status: Status };

/** A TCP relay in front of a real upstream: counts every connection that reaches it. */
async function countingRelay(upstream: Upstream): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    connections++;
    const onward = net.connect(upstream.port, '127.0.0.1');
    for (const socket of [client, onward]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(onward).pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    port: (relay.address() as AddressInfo).port,
    connections: () => connections,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => relay.close(() => resolve()));
    },
  };
}

/**
 * An OAuth-protected MCP server as seen through `localhost`, whose discovery leads to
 * 127.0.0.1 — the same process, reached by another name. Under /redirect/ its protected
 * resource metadata 302s to 127.0.0.1; under /as-blocked/ it names an authorization server
 * on 127.0.0.1, under /as-allowed/ the same one by the name localhost. Its config schema 302s
 * to 127.0.0.1 too. Requests addressed to 127.0.0.1, and those for the authorization server, are counted.
 */
async function discoveryFixture(): Promise<{ port: number; loopbackHits: () => string[]; authorizationServerHits: () => string[]; close(): Promise<void> }> {
  const loopbackHits: string[] = [];
  const authorizationServerHits: string[] = [];
  let port = 0;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.headers.host?.startsWith('127.0.0.1')) {
      loopbackHits.push(url);
      res.writeHead(404).end();
      return;
    }
    if (url.includes('/.well-known/oauth-authorization-server') || url.includes('/.well-known/openid-configuration')) {
      authorizationServerHits.push(url);
    }
    const prm = /^\/\.well-known\/oauth-protected-resource(\/(redirect|as-blocked|as-allowed)\/mcp)$/.exec(url);
    if (req.method === 'POST' && /^\/(redirect|as-blocked|as-allowed)\/mcp$/.test(url)) {
      req.resume();
      res.writeHead(401, {
        'www-authenticate': `Bearer resource_metadata="http://localhost:${port}/.well-known/oauth-protected-resource${url}"`,
        'content-type': 'application/json',
      });
      res.end(JSON.stringify({ error: 'invalid_token' }));
    } else if (prm?.[2] === 'redirect') {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/prm` }).end();
    } else if (prm) {
      const issuer = prm[2] === 'as-blocked' ? `http://127.0.0.1:${port}/as` : `http://localhost:${port}/as`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ resource: `http://localhost:${port}${prm[1]}`, authorization_servers: [issuer] }));
    } else if (url === '/.well-known/mcp-config') {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/config` }).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return {
    port,
    loopbackHits: () => [...loopbackHits],
    authorizationServerHits: () => [...authorizationServerHits],
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

let upstream: Upstream;
let relay: Awaited<ReturnType<typeof countingRelay>>;
let discovery: Awaited<ReturnType<typeof discoveryFixture>>;

/** A server as deployed by default: no allowlist. */
const guarded = { server: undefined as unknown as TestServer, key: '', ns: '' };
/** Only the name `localhost` allowed: 127.0.0.1 spelt as an address is not. */
const localhostOnly = { server: undefined as unknown as TestServer, key: '', ns: '' };
/** 127.0.0.1 on the fixture upstream's port alone, and the name localhost on every port. */
const onePort = { server: undefined as unknown as TestServer, key: '', ns: '' };

async function setUp(target: typeof guarded, env: Record<string, string>) {
  target.server = await startTestServer(env);
  target.key = (await target.server.newAccount()).key;
  const created = await target.server.request('/namespaces', { method: 'POST', bearer: target.key });
  target.ns = ((await created.json()) as { name: string }).name;
}

beforeAll(async () => {
  let started: Upstream;
  [started] = await Promise.all([
    startFixtureUpstream('sessions'),
    setUp(guarded, { ALLOWED_UPSTREAM_HOSTS: '' }),
    setUp(localhostOnly, { ALLOWED_UPSTREAM_HOSTS: 'localhost' }),
  ]);
  upstream = started;
  relay = await countingRelay(upstream);
  discovery = await discoveryFixture();
  await setUp(onePort, { ALLOWED_UPSTREAM_HOSTS: `127.0.0.1:${upstream.port}, localhost` });
});

afterAll(async () => {
  await Promise.all([guarded.server?.close(), localhostOnly.server?.close(), onePort.server?.close()]);
  await Promise.all([relay?.close(), discovery?.close(), upstream?.stop()]);
});

async function create(target: typeof guarded, mcpUrl: string): Promise<Response> {
  return target.server.request(`/${target.ns}`, {
    method: 'POST',
    bearer: target.key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mcpUrl }),
  });
}

async function created(target: typeof guarded, mcpUrl: string): Promise<Connection> {
  const response = await create(target, mcpUrl);
  expect(response.status).toBe(201);
  return (await response.json()) as Connection;
}

async function connection(target: typeof guarded, id: string): Promise<Connection> {
  return (await (await target.server.request(`/${target.ns}/${id}`, { bearer: target.key })).json()) as Connection;
}

function mcpPost(target: typeof guarded, id: string, message: unknown): Promise<Response> {
  return target.server.request(`/connect/${target.ns}/${id}/mcp`, {
    method: 'POST',
    bearer: target.key,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify(message),
  });
}

describe('with no allowlist (the default)', () => {
  it.each([
    ['loopback IPv4', () => `http://127.0.0.1:${relay.port}/mcp`],
    ['loopback IPv6', () => `http://[::1]:${relay.port}/mcp`],
    ['IPv4-mapped loopback', () => `http://[::ffff:127.0.0.1]:${relay.port}/mcp`],
    ['loopback by name', () => `http://localhost:${relay.port}/mcp`],
    ['loopback by name, upper case', () => `http://LOCALHOST:${relay.port}/mcp`],
    ['a .localhost name', () => `http://mcp.localhost:${relay.port}/mcp`],
    ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data'],
    ['the unspecified address', () => `http://0.0.0.0:${relay.port}/mcp`],
    ['decimal IPv4', () => `http://2130706433:${relay.port}/mcp`],
    ['hex IPv4', () => `http://0x7f000001:${relay.port}/mcp`],
    ['octal IPv4', () => `http://017700000001:${relay.port}/mcp`],
    ['short IPv4', () => `http://127.1:${relay.port}/mcp`],
    ['private IPv4', () => 'http://10.0.0.1/mcp'],
    ['private IPv4 (192.168)', () => 'https://192.168.1.1/mcp'],
    ['carrier-grade NAT', () => 'http://100.64.0.1/mcp'],
    ['unique-local IPv6', () => 'http://[fd00::1]/mcp'],
    ['link-local IPv6', () => 'http://[fe80::1]/mcp'],
    ['NAT64 of loopback', () => 'http://[64:ff9b::7f00:1]/mcp'],
    ['6to4 of loopback', () => 'http://[2002:7f00:1::]/mcp'],
  ])('refuses %s at create with 400 naming ALLOWED_UPSTREAM_HOSTS', async (_, url) => {
    const response = await create(guarded, url());
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; message: string };
    expect(body.error).toBe('validation_error');
    expect(body.message).toMatch(/^mcpUrl points to \S+, which is not allowed \([\w -]+ address\); an operator can allow it with ALLOWED_UPSTREAM_HOSTS$/);
    expect(body.message).not.toContain('/mcp');
  });

  it.each(['file:///etc/passwd', 'gopher://127.0.0.1:70/_GET', 'ftp://example.com/', 'data:text/plain,hello'])('refuses the scheme of %s with 400', async (url) => {
    const response = await create(guarded, url);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string; message: string }).message).toMatch(/must use http or https/);
  });

  it('refuses a loopback URL on update (PUT) as well', async () => {
    const response = await guarded.server.request(`/${guarded.ns}/put-loopback`, {
      method: 'PUT',
      bearer: guarded.key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mcpUrl: `http://127.0.0.1:${relay.port}/mcp` }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toContain('ALLOWED_UPSTREAM_HOSTS');
  });

  it('refuses after DNS a stored URL whose name resolves to loopback: status error, REST 502, MCP -32603, and the upstream is never reached', async () => {
    // A connection stored before the guard (or under a wider allowlist): its URL is a name,
    // so only the resolved address can tell.
    const stored = await created(guarded, 'http://stored-before-the-guard.invalid/mcp');
    await guarded.server.db
      .updateTable('connections')
      .set({ mcp_url: `http://localhost:${relay.port}/mcp?config=secret-value` })
      .where('namespace', '=', guarded.ns)
      .where('id', '=', stored.connectionId)
      .execute();
    const answers = await refusalsOf(stored.connectionId, unreachable('localhost'));
    expect(answers.mcp).not.toContain('secret-value');
    expect(relay.connections()).toBe(0);
    // The operator's log says why; the tenant's answers do not.
    expect(guarded.server.logs.some((line) => line.level === 40 && String(line.msg) === 'egress refused: upstream host localhost resolves to a blocked (loopback) address')).toBe(true);
  });

  it('a name refused after DNS reads exactly as a name that does not resolve: status, REST and MCP alike (no internal-DNS oracle)', async () => {
    const refusedConnection = await created(guarded, 'http://placeholder-refused.invalid/mcp');
    await guarded.server.db
      .updateTable('connections')
      .set({ mcp_url: `http://localhost:${relay.port}/mcp` })
      .where('namespace', '=', guarded.ns)
      .where('id', '=', refusedConnection.connectionId)
      .execute();
    const missingConnection = await created(guarded, `http://no-such-upstream.invalid:${relay.port}/mcp`);
    const refused = await refusalsOf(refusedConnection.connectionId, unreachable('localhost'));
    const missing = await refusalsOf(missingConnection.connectionId, unreachable('no-such-upstream.invalid'));
    const sameHost = (answers: typeof refused, host: string) => JSON.stringify(answers).replaceAll(host, 'HOST');
    expect(sameHost(refused, 'localhost')).toBe(sameHost(missing, 'no-such-upstream.invalid'));
  });

  const unreachable = (host: string) => `upstream host ${host} could not be reached (not found, or not an allowed address; see ALLOWED_UPSTREAM_HOSTS)`;

  /** The REST answer, the MCP answer and the recorded status of a connection whose upstream cannot be reached. */
  async function refusalsOf(id: string, expected: string): Promise<{ rest: unknown; mcp: string; status: Status | undefined }> {
    const tools = await guarded.server.request(`/${guarded.ns}/${id}/.tools`, { bearer: guarded.key });
    expect(tools.status).toBe(502);
    const rest = await tools.json();
    expect(rest).toEqual({ error: 'bad_gateway', message: expected });

    const mcp = await mcpPost(guarded, id, { jsonrpc: '2.0', id: 7, method: 'tools/list' });
    expect(mcp.status).toBe(502);
    const answer = (await mcp.json()) as { id: number; error: { code: number; message: string } };
    expect(answer.id).toBe(7);
    expect(answer.error.code).toBe(-32603);
    expect(answer.error.message).toContain(expected);

    // The status is recorded in the background after the call.
    let status: Status | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      status = (await connection(guarded, id)).status;
      if (status.message === expected) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toEqual({ state: 'error', message: expected });
    return { rest, mcp: JSON.stringify(answer), status };
  }
});

describe('with only the name localhost allowed', () => {
  it('neither OAuth discovery nor the config schema follows a redirect to 127.0.0.1', async () => {
    const before = discovery.loopbackHits().length;
    const made = await created(localhostOnly, `http://localhost:${discovery.port}/redirect/mcp`);
    expect(made.status.state).toBe('auth_required');
    const page = await continueAuthorizationLink(made.status.authorizationUrl!);
    const html = await page.text();
    expect(page.status).toBeGreaterThanOrEqual(400);
    expect(page.headers.get('location')).toBeNull();
    expect(html).not.toContain('127.0.0.1:');
    expect(discovery.loopbackHits().slice(before)).toEqual([]);
  });

  it('an authorization server on a refused address is never fetched; the page says why', async () => {
    const before = discovery.loopbackHits().length;
    const made = await created(localhostOnly, `http://localhost:${discovery.port}/as-blocked/mcp`);
    expect(made.status.state).toBe('auth_required');
    const page = await continueAuthorizationLink(made.status.authorizationUrl!);
    expect(page.status).toBe(502);
    expect(await page.text()).toContain('upstream address 127.0.0.1 is a blocked (loopback) address; set ALLOWED_UPSTREAM_HOSTS to allow it');
    expect(discovery.loopbackHits().slice(before)).toEqual([]);
  });
});

describe('with localhost allowed (positive controls: the same targets are reached)', () => {
  it('connects to the loopback upstream by that name and calls a tool, over REST and MCP', async () => {
    const before = relay.connections();
    const made = await created(localhostOnly, `http://localhost:${relay.port}/mcp`);
    expect(made.status).toEqual({ state: 'connected' });
    const call = await localhostOnly.server.request(`/${localhostOnly.ns}/${made.connectionId}/.tools/echo`, {
      method: 'POST',
      bearer: localhostOnly.key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'through the guard' }),
    });
    expect(call.status).toBe(200);
    expect(((await call.json()) as { content: { text: string }[] }).content[0]!.text).toContain('through the guard');
    const mcp = await mcpPost(localhostOnly, made.connectionId, {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: 'raw' } },
    });
    expect(mcp.status).toBe(200);
    expect(await mcp.text()).toContain('raw');
    expect(relay.connections()).toBeGreaterThan(before);
  });

  // The same flow as /as-blocked/ with the authorization server named localhost: discovery
  // does fetch it, so what spared 127.0.0.1 above was the guard. (No such control for the
  // redirect: the MCP SDK itself follows redirects within one origin only; that the guard
  // judges every hop is shown in test/core/egress-policy.test.ts.)
  it('OAuth discovery fetches an authorization server the allowlist opens', async () => {
    const before = discovery.authorizationServerHits().length;
    const made = await created(localhostOnly, `http://localhost:${discovery.port}/as-allowed/mcp`);
    expect(made.status.state).toBe('auth_required');
    await (await continueAuthorizationLink(made.status.authorizationUrl!)).text();
    expect(discovery.authorizationServerHits().slice(before)).toContain('/.well-known/oauth-authorization-server/as');
  });
});

/** A TCP listener that hangs up on whoever connects: counts them. */
async function hangingUpListener(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, connections: () => connections, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('with an address allowed on one port (127.0.0.1:<upstream port>)', () => {
  let hangUp: Awaited<ReturnType<typeof hangingUpListener>>;
  let closedPort: number;
  /** Other ports of 127.0.0.1, each a different outcome were it reached: the scanner's question. */
  let probes: [what: string, port: () => number][];
  beforeAll(async () => {
    [hangUp, closedPort] = await Promise.all([hangingUpListener(), freePort()]);
    probes = [
      ['a closed port', () => closedPort],
      ['a live MCP server (through the relay)', () => relay.port],
      ['an HTTP server that is not MCP', () => discovery.port],
      ['a listener that hangs up', () => hangUp.port],
    ];
  });
  afterAll(() => hangUp?.close());

  it('connects to the upstream on that port and calls a tool (positive control)', async () => {
    const made = await created(onePort, upstream.url);
    expect(made.status).toEqual({ state: 'connected' });
    const call = await onePort.server.request(`/${onePort.ns}/${made.connectionId}/.tools/echo`, {
      method: 'POST',
      bearer: onePort.key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'on the allowed port' }),
    });
    expect(call.status).toBe(200);
  });

  it('refuses every other port of that address at create with one and the same 400, reaching none of them', async () => {
    const before = { relay: relay.connections(), loopback: discovery.loopbackHits().length, hangUp: hangUp.connections() };
    const answers = [];
    for (const [, port] of probes) {
      const response = await create(onePort, `http://127.0.0.1:${port()}/mcp`);
      answers.push({ status: response.status, body: await response.json() });
    }
    expect(answers[0]).toEqual({
      status: 400,
      body: { error: 'validation_error', message: 'mcpUrl points to 127.0.0.1, which is not allowed (loopback address); an operator can allow it with ALLOWED_UPSTREAM_HOSTS' },
    });
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    expect({ relay: relay.connections(), loopback: discovery.loopbackHits().length, hangUp: hangUp.connections() }).toEqual(before);
  });

  it('a stored connection pointed at another port reads the same whatever listens there: status, REST and MCP answers alike', async () => {
    // Stored under a wider policy (or before it): only the guard at connect time stands between.
    const before = { relay: relay.connections(), loopback: discovery.loopbackHits().length, hangUp: hangUp.connections() };
    const seen: string[] = [];
    for (const [what, port] of probes) {
      const made = await created(onePort, 'http://stored-under-a-wider-policy.invalid/mcp');
      await onePort.server.db
        .updateTable('connections')
        .set({ mcp_url: `http://127.0.0.1:${port()}/mcp` })
        .where('namespace', '=', onePort.ns)
        .where('id', '=', made.connectionId)
        .execute();
      const tools = await onePort.server.request(`/${onePort.ns}/${made.connectionId}/.tools`, { bearer: onePort.key });
      const mcp = await mcpPost(onePort, made.connectionId, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
      const mcpAnswer = (await mcp.json()) as { error: { code: number; message: string } };
      let status: Status | undefined;
      for (let attempt = 0; attempt < 100; attempt++) {
        status = (await connection(onePort, made.connectionId)).status;
        if (status.message?.includes('blocked')) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      seen.push(JSON.stringify({ rest: [tools.status, await tools.json()], mcp: [mcp.status, mcpAnswer.error], status }));
      expect(status, what).toEqual({ state: 'error', message: 'upstream address 127.0.0.1 is a blocked (loopback) address; set ALLOWED_UPSTREAM_HOSTS to allow it' });
    }
    expect(new Set(seen).size).toBe(1);
    expect({ relay: relay.connections(), loopback: discovery.loopbackHits().length, hangUp: hangUp.connections() }).toEqual(before);
  });

  it('a bare entry (localhost) opens every port, so there the outcomes differ: why host:port is the safe form', async () => {
    const closed = await created(onePort, `http://localhost:${closedPort}/mcp`);
    const notMcp = await created(onePort, `http://localhost:${discovery.port}/mcp`);
    expect(closed.status.state).toBe('error');
    expect(closed.status.message).toMatch(/refused/);
    expect(notMcp.status.message).not.toBe(closed.status.message);
  });
});
