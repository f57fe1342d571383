import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { continueAuthorizationLink } from '../helpers/authorization-link.ts';
import { pageText } from '../helpers/oauth-upstream.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * A tenant's MCP server may name any authorization server, a hostile one included: here one
 * process plays both, a protected MCP endpoint (401, its resource metadata naming itself as the
 * authorization server) and that authorization server. Its answers
 * are read within the upstream timeout and up to a small size: a metadata document of 20 MB or
 * one that trickles forever ends in the plain-words error page, not in a redirect or a hang.
 */
type Behaviour = 'padded-declared' | 'padded-streamed' | 'trickle' | 'registration-refused';
const PADDING_BYTES = 20 * 1024 * 1024;

let server: TestServer;
let hostile: Server;
let issuer: string;
let behaviour: Behaviour = 'padded-declared';
const open = new Set<ServerResponse>();
let owner: { key: string };
let ns: string;

function metadata(): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    registration_endpoint: `${issuer}/register`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none'],
  };
}

beforeAll(async () => {
  hostile = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'POST' && url.pathname === '/register' && behaviour === 'registration-refused') {
      req.resume();
      res.writeHead(400, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ error: 'invalid_client_metadata', error_description: 'no dynamic clients here' }));
    }
    if (req.method === 'POST' && url.pathname === '/register') {
      req.resume();
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ client_id: 'hostile-client', redirect_uris: ['http://127.0.0.1/oauth/callback'], token_endpoint_auth_method: 'none' }));
      return;
    }
    if (url.pathname === '/mcp') {
      req.resume();
      res.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="${issuer}/.well-known/oauth-protected-resource/mcp"` });
      return void res.end();
    }
    if (url.pathname === '/.well-known/oauth-protected-resource/mcp') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ resource: `${issuer}/mcp`, authorization_servers: [issuer] }));
    }
    if (!url.pathname.startsWith('/.well-known/')) return void res.writeHead(404).end();
    const document = JSON.stringify(metadata());
    if (behaviour === 'registration-refused') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(document);
    }
    if (behaviour === 'trickle') {
      // Headers, then a byte of whitespace now and then: valid JSON so far, never finished.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(document.slice(0, -1));
      const timer = setInterval(() => res.write(' '), 200);
      res.on('close', () => clearInterval(timer));
      return;
    }
    const padded = `${document.slice(0, -1)},"x_padding":"${'a'.repeat(PADDING_BYTES)}"}`;
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (behaviour === 'padded-declared') headers['content-length'] = Buffer.byteLength(padded);
    res.writeHead(200, headers);
    res.end(padded);
  });
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
  // Short enough that the trickle ends soon, long enough that creating the connection (a probe
  // of the benign MCP endpoint) never runs out on a loaded 2-core machine, as 1.5 s once did.
  server = await startTestServer({ UPSTREAM_TIMEOUT_MS: '6000' });
  owner = await server.newAccount('hostile-as-owner');
  ns = ((await (await send('POST', '/namespaces')).json()) as { name: string }).name;
});
afterAll(async () => {
  for (const res of open) res.destroy();
  await new Promise((resolve) => hostile?.close(resolve));
  await server?.close();
});

function send(method: string, pathname: string, body?: unknown): Promise<Response> {
  return server.request(pathname, {
    method,
    bearer: owner.key,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
}

/** A connection to the protected MCP endpoint that names the hostile authorization server, and its authorization link. */
async function linkToHostileServer(): Promise<{ connectionId: string; link: string }> {
  const response = await send('POST', `/${ns}`, { mcpUrl: `${issuer}/mcp` });
  const body = (await response.json()) as { connectionId: string; status: { state: string; authorizationUrl?: string } };
  expect(response.status, JSON.stringify(body)).toBe(201);
  expect(body.status.state).toBe('auth_required');
  return { connectionId: body.connectionId, link: body.status.authorizationUrl! };
}

/** The account's oauth.failed events about one connection (newest first). */
async function failuresOf(connectionId: string): Promise<{ actor: { type: string }; details: { issuer: string | null; reason: string; error: string | null } }[]> {
  const response = await send('GET', `/audit-events?type=oauth.failed&connectionId=${connectionId}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { events: never[] }).events;
}

describe('an authorization server that answers without bounds, or refuses', () => {
  it.each([
    ['padded-declared', /larger than/, 'discovery_failed', null],
    ['padded-streamed', /larger than/, 'discovery_failed', null],
    ['trickle', /did not answer in time/, 'discovery_failed', null],
    ['registration-refused', /invalid_client_metadata/, 'registration_failed', 'invalid_client_metadata'],
  ] as const)('%s: continuing the link answers the error page, audits and logs why', async (kind, reason, step, code) => {
    behaviour = kind;
    const { connectionId, link } = await linkToHostileServer();
    const continued = await continueAuthorizationLink(link);
    const page = pageText(await continued.text());
    expect(continued.headers.get('location')).toBeNull();
    expect(continued.status, page).toBe(502);
    expect(continued.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page).toMatch(/Could not start the authorization/);
    expect(page).toMatch(reason);
    // The operator hears why, at warn.
    await expect
      .poll(() => server.logs.some((line) => line.msg === 'could not start an upstream authorization' && line.level === 40 && line.step === step && reason.test(String(line.reason))))
      .toBe(true);
    // The account's audit log keeps the step it stopped at, and the server's error code.
    expect(await failuresOf(connectionId)).toEqual([
      expect.objectContaining({ actor: { type: 'end_user', id: null }, details: { issuer: step === 'discovery_failed' ? null : issuer, reason: step, error: code } }),
    ]);
  }, 60_000);
});

