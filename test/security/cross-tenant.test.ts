import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import openapi from '../../openapi.json' with { type: 'json' };
import { appRouter } from '../../src/api/router.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * The cross-tenant matrix: every protected REST route of the committed OpenAPI document (a new
 * route is covered the moment it is added), every tRPC procedure and the MCP endpoint, each
 * called by every kind of caller that must not reach the victim's resources. Expected: 401 with
 * `WWW-Authenticate` for a missing or bad credential, 403 for a valid one lacking the right, 404
 * for what the caller cannot see — with the very body a nonexistent resource gets — and never a
 * byte of the victim's data (planted markers in connection names, metadata, OAuth clients and
 * audit events). Complements test/api/security.test.ts (bad-credential spellings per REST route).
 */
const MARK = `victimmark${randomBytes(5).toString('hex')}`;

type Target = { namespace: string; connectionId: string; name: string; id: string; toolPath: string; webhookId: string };
type Surface = 'rest' | 'trpc' | 'mcp';
type Route = {
  surface: Surface;
  label: string;
  method: string;
  /** Path template (REST) or procedure path (tRPC). */
  path: string;
  /** The REST method and path template the route has (or, for tRPC, would have). */
  rest: string;
  operation: 'read' | 'write' | 'execute';
  /** What the route points at in the victim's account (path parameters). */
  targets: 'connection' | 'namespace' | 'oauthClient' | 'none';
  apiKeyOnly: boolean;
};

type CallerKind = 'unauthenticated' | 'foreign' | 'otherNamespace' | 'otherUser' | 'readOnly';
type Caller = { label: string; kind: CallerKind; authorization?: string; isToken: boolean };

let server: TestServer;
let victim: Target & { otherNamespace: string; tokenId: string; clientId: string };
let victimConnections: string[];
let callers: Caller[];

// ---------------------------------------------------------------- the routes

type ProcedureDef = { type: 'query' | 'mutation'; meta?: { openapi?: { method: string; path: string }; access?: { operation: string; apiKeyOnly?: true } } };
const procedures = Object.entries((appRouter as unknown as { _def: { procedures: Record<string, { _def: ProcedureDef }> } })._def.procedures);
type Operation = { security?: unknown[] };
const restRoutes: Route[] = Object.entries(openapi.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([, op]) => Array.isArray(op.security) && op.security.length > 0)
    .map(([method]) => {
      const served = procedures.find(([, p]) => p._def.meta?.openapi?.method === method.toUpperCase() && p._def.meta.openapi.path.replaceAll('\\', '') === path);
      if (!served) throw new Error(`no procedure serves ${method} ${path}`);
      return describeRoute('rest', method.toUpperCase(), path, `${method.toUpperCase()} ${path}`, served[1]._def.meta!.access!);
    }),
);

const trpcRoutes: Route[] = procedures
  .filter(([, p]) => p._def.meta?.access)
  .map(([name, p]) => {
    const openapiMeta = p._def.meta!.openapi!;
    return describeRoute('trpc', p._def.type === 'query' ? 'GET' : 'POST', name, `${openapiMeta.method} ${openapiMeta.path.replaceAll('\\', '')}`, p._def.meta!.access!);
  });

const mcpRoute: Route = {
  surface: 'mcp',
  label: 'MCP POST /connect/{namespace}/{connectionId}/mcp',
  method: 'POST',
  path: '/connect/{namespace}/{connectionId}/mcp',
  rest: 'POST /connect/{namespace}/{connectionId}/mcp',
  operation: 'execute',
  targets: 'connection',
  apiKeyOnly: false,
};

/** The namespace toolbox: its tools/list reaches every connection the caller may see, and no other. */
const toolboxRoute: Route = {
  surface: 'mcp',
  label: 'MCP POST /connect/{namespace}/mcp (toolbox)',
  method: 'POST',
  path: '/connect/{namespace}/mcp',
  rest: 'POST /connect/{namespace}/mcp',
  operation: 'execute',
  targets: 'namespace',
  apiKeyOnly: false,
};

function describeRoute(surface: Surface, method: string, path: string, rest: string, access: { operation: string; apiKeyOnly?: true }): Route {
  const template = rest.split(' ')[1]!;
  const operation = access.operation as Route['operation'];
  const targets: Route['targets'] = template.includes('{connectionId}')
    ? 'connection'
    : template.includes('{namespace}') || template.includes('{name}')
      ? 'namespace'
      : template.includes('/oauth-clients/{id}')
        ? 'oauthClient'
        : 'none';
  return { surface, label: `${surface === 'rest' ? 'REST' : 'tRPC'} ${method} ${path}`, method, path, rest, operation, targets, apiKeyOnly: access.apiKeyOnly === true };
}

const routes: Route[] = [...restRoutes, ...trpcRoutes, mcpRoute, toolboxRoute];

// ---------------------------------------------------------------- calling them

function fill(template: string, t: Target): string {
  return template
    .replaceAll('{namespace}', encodeURIComponent(t.namespace))
    .replaceAll('{name}', encodeURIComponent(t.name))
    .replaceAll('{connectionId}', encodeURIComponent(t.connectionId))
    .replaceAll('{toolPath}', encodeURIComponent(t.toolPath))
    .replaceAll('{id}', encodeURIComponent(t.id))
    .replaceAll('{webhookId}', encodeURIComponent(t.webhookId))
    .replaceAll('\\.', '.');
}

/** A body each write accepts once access is granted, so a refusal is about access, not input. */
function bodyFor(route: Route): Record<string, unknown> {
  if (route.rest.includes('/oauth-clients')) return { issuer: 'http://127.0.0.1:9/issuer', clientId: 'x' };
  if (route.rest === 'POST /tokens/revoke') return { id: victim.tokenId };
  if (route.rest === 'POST /tokens') return {};
  if (route.rest.includes('.tools')) return {};
  if (route.rest.includes('/webhooks')) return { url: 'http://127.0.0.1:9/hook' };
  return { mcpUrl: 'http://127.0.0.1:9/mcp' };
}

function trpcInput(route: Route, t: Target): Record<string, unknown> {
  const meta = procedures.find(([n]) => n === route.path)?.[1]._def.meta?.openapi;
  const input: Record<string, unknown> = {};
  for (const param of (meta?.path ?? '').match(/\{(\w+)\}/g) ?? []) {
    const key = param.slice(1, -1) as keyof Target;
    input[key] = t[key];
  }
  if (route.method === 'POST') Object.assign(input, route.rest.startsWith('POST') && route.rest.includes('.tools') ? { arguments: {} } : bodyFor(route));
  return input;
}

type Answer = { status: number; headers: Headers; text: string };

async function call(route: Route, caller: Caller, t: Target): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (caller.authorization) headers.authorization = caller.authorization;
  let url: string;
  let init: RequestInit = { method: route.method, headers };
  if (route.surface === 'rest') {
    url = fill(route.path, t);
    if (route.method !== 'GET' && route.method !== 'DELETE') {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(bodyFor(route));
    }
  } else if (route.surface === 'trpc') {
    const input = trpcInput(route, t);
    if (route.method === 'GET') url = `/trpc/${route.path}?input=${encodeURIComponent(JSON.stringify(input))}`;
    else {
      url = `/trpc/${route.path}`;
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(input);
    }
  } else {
    url = fill(route.path, t);
    Object.assign(headers, { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'smithery-stateless' });
    init = { ...init, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) };
  }
  const response = await server.request(url, init);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

// ---------------------------------------------------------------- what each caller must get

/** The status a caller must get, or a set of acceptable ones when the route is not about the victim at all. */
function expected(route: Route, caller: Caller): number | number[] {
  if (caller.kind === 'unauthenticated') return 401;
  if (route.apiKeyOnly && caller.isToken) return 403;
  switch (caller.kind) {
    case 'foreign':
      if (route.targets === 'none') return route.rest === 'POST /tokens/revoke' ? 404 : [200, 201, 400];
      // Claiming a name another account holds: taken (409), which says nothing more than the name.
      if (route.rest === 'PUT /namespaces/{name}') return 409;
      return 404;
    case 'otherNamespace':
      if (route.targets === 'none') return [200, 201, 403];
      if (route.targets === 'oauthClient') return 403;
      return 404;
    case 'otherUser':
      if (route.targets === 'connection') return 404;
      return [200, 201, 403, 404];
    case 'readOnly':
      if (route.targets === 'none' || route.operation === 'read') return [200, 201, 403, 502];
      return 403;
  }
  throw new Error('unreachable');
}

/** The nonexistent counterpart of what the caller aimed at: its 404 must read the same. */
function missingTarget(caller: Caller): Target {
  if (caller.kind === 'otherUser') return { ...victim, connectionId: 'nosuchconnection', id: 'nosuchconnection' };
  const ns = `missing-${randomBytes(4).toString('hex')}`;
  return { ...victim, namespace: ns, name: ns, connectionId: 'nosuchconnection', id: 'oac_nosuchclient', webhookId: 'wh_nosuchwebhook0000' };
}

function normalized(text: string, t: Target): string {
  return text.replaceAll(t.namespace, '<ns>').replaceAll(t.connectionId, '<conn>').replaceAll(t.id, '<id>').replaceAll(t.webhookId, '<wh>');
}

// ---------------------------------------------------------------- the accounts

async function json<T>(pathname: string, bearer: string, method = 'GET', body?: unknown): Promise<{ status: number; body: T }> {
  const response = await server.request(pathname, {
    method,
    bearer,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function mint(bearer: string, policy?: unknown[]): Promise<string> {
  const minted = await json<{ token: string }>('/tokens', bearer, 'POST', policy ? { policy } : {});
  expect(minted.status).toBe(200);
  return minted.body.token;
}

beforeAll(async () => {
  server = await startTestServer();
  const owner = await server.newAccount('victim');
  const attacker = await server.newAccount('attacker');
  const attackerRevoked = await server.addKey(attacker.accountId);
  await server.revokeKey(attackerRevoked.keyId);

  const namespace = (await json<{ name: string }>('/namespaces', owner.key, 'POST')).body.name;
  const otherNamespace = (await json<{ name: string }>('/namespaces', owner.key, 'POST')).body.name;
  victimConnections = [];
  // Only alice's connection carries the marker: bob's token may see bob's.
  for (const userId of ['alice', 'bob']) {
    const created = await json<{ connectionId: string }>(`/${namespace}`, owner.key, 'POST', {
      mcpUrl: 'http://127.0.0.1:9/mcp',
      name: userId === 'alice' ? `${MARK}-alice` : 'bob-connection',
      metadata: userId === 'alice' ? { userId, note: MARK } : { userId },
    });
    expect(created.status).toBe(201);
    victimConnections.push(created.body.connectionId);
  }
  const webhook = await json<{ webhookId: string }>(`/namespaces/${namespace}/webhooks`, owner.key, 'POST', { url: 'http://127.0.0.1:9/hook', description: MARK });
  expect(webhook.status).toBe(201);
  const client = await json<{ id: string }>('/oauth-clients', owner.key, 'PUT', { issuer: `http://127.0.0.1:9/${MARK}`, clientId: MARK, clientSecret: 'x'.repeat(20) });
  expect(client.status).toBe(200);
  const expiring = await mint(owner.key, [{ ttl: 1 }]);
  const revokedToken = await mint(owner.key);
  const revokedId = JSON.parse(Buffer.from(revokedToken.slice(4).split('.')[0]!, 'base64url').toString()).id as string;
  expect((await json('/tokens/revoke', owner.key, 'POST', { id: revokedId })).status).toBe(200);
  const fullToken = await mint(owner.key);
  const forged = `${fullToken.slice(0, -4)}${fullToken.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
  const tokenId = JSON.parse(Buffer.from(fullToken.slice(4).split('.')[0]!, 'base64url').toString()).id as string;

  victim = { namespace, name: namespace, connectionId: victimConnections[0]!, id: client.body.id, toolPath: 'echo', webhookId: webhook.body.webhookId, otherNamespace, tokenId, clientId: client.body.id };

  callers = [
    { label: 'no Authorization header', kind: 'unauthenticated', isToken: false },
    { label: 'a malformed bearer', kind: 'unauthenticated', authorization: 'Bearer not a token', isToken: false },
    { label: 'an unknown API key', kind: 'unauthenticated', authorization: `Bearer sk_${'a'.repeat(16)}_${'b'.repeat(52)}`, isToken: false },
    { label: 'a revoked API key', kind: 'unauthenticated', authorization: `Bearer ${attackerRevoked.key}`, isToken: false },
    { label: 'an expired service token', kind: 'unauthenticated', authorization: `Bearer ${expiring}`, isToken: true },
    { label: 'a revoked service token', kind: 'unauthenticated', authorization: `Bearer ${revokedToken}`, isToken: true },
    { label: 'a service token with a forged signature', kind: 'unauthenticated', authorization: `Bearer ${forged}`, isToken: true },
    { label: 'another account’s API key', kind: 'foreign', authorization: `Bearer ${attacker.key}`, isToken: false },
    { label: 'another account’s service token', kind: 'foreign', authorization: `Bearer ${await mint(attacker.key)}`, isToken: true },
    {
      label: 'a token for another namespace',
      kind: 'otherNamespace',
      authorization: `Bearer ${await mint(owner.key, [{ namespaces: otherNamespace }])}`,
      isToken: true,
    },
    {
      label: 'a token for another user’s connections',
      kind: 'otherUser',
      authorization: `Bearer ${await mint(owner.key, [{ namespaces: namespace, metadata: { userId: 'bob' } }])}`,
      isToken: true,
    },
    {
      label: 'a read-only token',
      kind: 'readOnly',
      authorization: `Bearer ${await mint(owner.key, [{ namespaces: namespace, operations: ['read'] }])}`,
      isToken: true,
    },
  ];
  // The 1-second token: past its expiry by every clock.
  await new Promise((resolve) => setTimeout(resolve, 2100));
});
afterAll(() => server?.close());

describe('the cross-tenant matrix', () => {
  it('covers every protected REST route, every tRPC procedure and the MCP endpoint', () => {
    expect(restRoutes.length).toBeGreaterThanOrEqual(20);
    expect(restRoutes.map((r) => `${r.method} ${r.path}`)).toEqual(expect.arrayContaining(['GET /{namespace}/{connectionId}', 'POST /tokens/revoke']));
    expect(trpcRoutes.length).toBe(restRoutes.length);
  });

  it('the victim sees its own data (the markers are there to be found)', async () => {
    const owner = callers.find((c) => c.kind === 'readOnly')!;
    const answer = await call(restRoutes.find((r) => r.path === '/{namespace}/{connectionId}' && r.method === 'GET')!, owner, victim);
    expect(answer.status).toBe(200);
    expect(answer.text).toContain(MARK);
  });

  it('answers every route × caller as it must, with 404s identical to a missing resource’s and no foreign data', async () => {
    const failures: string[] = [];
    let cases = 0;
    let notFoundComparisons = 0;
    for (const route of routes) {
      for (const caller of callers) {
        cases++;
        const answer = await call(route, caller, victim);
        const where = `${route.label} × ${caller.label}`;
        const want = expected(route, caller);
        const ok = Array.isArray(want) ? want.includes(answer.status) : answer.status === want;
        if (!ok) failures.push(`${where}: ${answer.status}, expected ${want}: ${answer.text.slice(0, 200)}`);
        if (answer.status >= 500 && answer.status !== 502) failures.push(`${where}: ${answer.status}`);
        if (answer.status === 401 && !/^Bearer /.test(answer.headers.get('www-authenticate') ?? '')) failures.push(`${where}: 401 without WWW-Authenticate`);
        // Foreign data: the markers live only in the victim's connections, client and audit trail.
        if (caller.kind !== 'readOnly' && answer.text.includes(MARK)) failures.push(`${where}: LEAK ${answer.text.slice(0, 300)}`);
        if (route.targets === 'none' && caller.kind !== 'readOnly' && caller.kind !== 'otherUser' && answer.text.includes(victim.namespace)) {
          failures.push(`${where}: LEAK of the namespace name ${answer.text.slice(0, 300)}`);
        }
        // (A route naming alice's connection in its path may echo the id it was given.)
        if (caller.kind === 'otherUser' && route.targets !== 'connection' && answer.text.includes(victimConnections[0]!)) {
          failures.push(`${where}: LEAK of alice's connection id`);
        }
        // PUT on a free connection id creates it (here: 403, other metadata), so no answer on a
        // taken id can read the same; ids are generated and unguessable, which is what protects them.
        const upsert = caller.kind === 'otherUser' && route.rest === 'PUT /{namespace}/{connectionId}';
        if (answer.status === 404 && !upsert) {
          notFoundComparisons++;
          const missing = missingTarget(caller);
          const control = await call(route, caller, missing);
          if (control.status !== 404 || normalized(control.text, missing) !== normalized(answer.text, victim)) {
            failures.push(`${where}: 404 differs from a missing resource's: ${answer.text.slice(0, 200)} vs ${control.status} ${control.text.slice(0, 200)}`);
          }
        }
      }
    }
    console.log(`cross-tenant matrix: ${routes.length} routes (${restRoutes.length} REST, ${trpcRoutes.length} tRPC, 2 MCP) × ${callers.length} callers = ${cases} cases, ${notFoundComparisons} 404s compared with a missing resource's, ${failures.length} failures`);
    expect(failures).toEqual([]);
    expect(cases).toBe(routes.length * callers.length);
  });

  it('lists only the caller’s own: another user’s token sees bob’s connection, never alice’s', async () => {
    const bob = callers.find((c) => c.kind === 'otherUser')!;
    const list = await server.request(`/${victim.namespace}`, { headers: { authorization: bob.authorization! } });
    const body = (await list.json()) as { connections: { connectionId: string }[] };
    expect(body.connections.map((c) => c.connectionId)).toEqual([victimConnections[1]]);
  });
});
