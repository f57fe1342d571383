/**
 * The client under test for the MCP conformance `auth` suite is Switchboard: this harness plays
 * the app and the end user around a RUNNING Switchboard (SWITCHBOARD_URL, SWITCHBOARD_API_KEY).
 * It creates a connection to the conformance server (the runner appends its URL as the last
 * argument); when the connection needs authorization it walks the authorization link like a
 * browser (our link → 302 to the conformance AS → its /authorize auto-approves with a 302 to our
 * callback → our callback exchanges the code), then calls tools through Switchboard's MCP
 * endpoint, completing further authorizations (step-up) it is asked for, at most three in all.
 * Exit 0 when the calls succeed, 1 otherwise. Run with Node 20: `node --import tsx <this file>`.
 */
import { randomBytes } from 'node:crypto';
import { pageText } from '../helpers/oauth-upstream.ts';

const serverUrl = process.argv.at(-1)!;
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? '{}') as { client_id?: string; client_secret?: string };
const switchboard = process.env.SWITCHBOARD_URL;
const apiKey = process.env.SWITCHBOARD_API_KEY;
/** The conformance server fails a client that starts a fourth authorization (auth/scope-retry-limit). */
const MAX_AUTHORIZATIONS = 3;

const log = (...parts: unknown[]) => console.error('[harness]', ...parts);

class HarnessFailure extends Error {}

async function api(path: string, init: { method: string; body?: unknown }): Promise<Response> {
  return fetch(`${switchboard}${path}`, {
    method: init.method,
    headers: { authorization: `Bearer ${apiKey}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

async function expectStatus(response: Response, wanted: number[], what: string): Promise<unknown> {
  const text = await response.text();
  if (!wanted.includes(response.status)) throw new HarnessFailure(`${what} answered ${response.status}: ${text.slice(0, 400)}`);
  return text ? JSON.parse(text) : undefined;
}

/** The issuer protecting the server: its 401 challenge → protected resource metadata → authorization_servers[0]. */
async function discoverIssuer(): Promise<string> {
  const challenge = await fetch(serverUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'switchboard-conformance-harness', version: '0.0.0' } },
    }),
  });
  await challenge.body?.cancel();
  const header = challenge.headers.get('www-authenticate') ?? '';
  const metadataUrl = /resource_metadata="([^"]+)"/.exec(header)?.[1];
  if (!metadataUrl) throw new HarnessFailure(`the server's ${challenge.status} named no resource_metadata (${header})`);
  const metadata = (await (await fetch(metadataUrl)).json()) as { authorization_servers?: string[] };
  const issuer = metadata.authorization_servers?.[0];
  if (!issuer) throw new HarnessFailure('the protected resource metadata names no authorization server');
  return issuer;
}


/**
 * What a browser does with the authorization link: the interstitial (which sets the browser's
 * cookie) and its continue button (a post), then two hops at the authorization server, the last
 * one onto Switchboard's callback (with the cookie), whose answer says whether the connection
 * is now authorized.
 */
let authorizations = 0;
async function authorize(authorizationUrl: string): Promise<void> {
  if (++authorizations > MAX_AUTHORIZATIONS) throw new HarnessFailure(`still asked to authorize after ${MAX_AUTHORIZATIONS} authorizations`);
  const interstitial = await fetch(authorizationUrl, { redirect: 'manual' });
  const html = await interstitial.text();
  const cookie = interstitial.headers.getSetCookie()[0]?.split(';')[0];
  const continueToken = /name="continue" value="([^"]+)"/.exec(html)?.[1];
  if (interstitial.status !== 200 || !cookie || !continueToken) throw new HarnessFailure(`the authorization link answered ${interstitial.status}: ${pageText(html)}`);
  const ours = await fetch(authorizationUrl, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ continue: continueToken }),
  });
  const toServer = ours.headers.get('location');
  if (ours.status !== 303 || !toServer) throw new HarnessFailure(`continuing the authorization link answered ${ours.status}: ${pageText(await ours.text())}`);
  log('authorization', authorizations, '→', new URL(toServer).origin + new URL(toServer).pathname);
  const approved = await fetch(toServer, { redirect: 'manual' });
  const back = approved.headers.get('location');
  await approved.body?.cancel();
  if (approved.status < 300 || approved.status >= 400 || !back) throw new HarnessFailure(`the authorization server answered ${approved.status} without a redirect`);
  const callback = await fetch(new URL(back, toServer), { redirect: 'manual', headers: { cookie } });
  const page = await callback.text();
  log('callback', callback.status, pageText(page));
  if (callback.status !== 200 || !page.includes('Connected')) throw new HarnessFailure(`the callback answered ${callback.status}`);
}

type JsonRpcAnswer = { result?: Record<string, unknown>; error?: { code: number; message: string; data?: { authorizationUrl?: string } } };

/** One JSON-RPC request through Switchboard's MCP endpoint, read from a JSON or event-stream answer. */
async function mcp(endpoint: string, id: number, method: string, params: Record<string, unknown>): Promise<{ status: number; answer?: JsonRpcAnswer }> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
  });
  const text = await response.text();
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
    return { status: response.status, answer: text ? (JSON.parse(text) as JsonRpcAnswer) : undefined };
  }
  const messages = text
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => JSON.parse(line.slice(5)) as JsonRpcAnswer & { id?: unknown });
  return { status: response.status, answer: messages.find((message) => message.id === id) };
}

/** A request, authorizing (again) whenever Switchboard answers -32001 with a link. */
let nextId = 1;
async function call(endpoint: string, method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  for (;;) {
    const { status, answer } = await mcp(endpoint, nextId++, method, params);
    if (answer?.error?.code === -32001 && answer.error.data?.authorizationUrl) {
      await authorize(answer.error.data.authorizationUrl);
      continue;
    }
    if (status !== 200 || !answer?.result) throw new HarnessFailure(`${method} answered ${status}: ${JSON.stringify(answer).slice(0, 400)}`);
    return answer.result;
  }
}

async function main(): Promise<void> {
  if (!switchboard || !apiKey) throw new HarnessFailure('SWITCHBOARD_URL and SWITCHBOARD_API_KEY must be set');
  log(JSON.stringify({ scenario, serverUrl }));
  if (scenario === 'auth/pre-registration') {
    if (!context.client_id) throw new HarnessFailure('MCP_CONFORMANCE_CONTEXT carries no client_id');
    const issuer = await discoverIssuer();
    await expectStatus(
      await api('/oauth-clients', { method: 'PUT', body: { issuer, clientId: context.client_id, ...(context.client_secret ? { clientSecret: context.client_secret } : {}) } }),
      [200],
      'PUT /oauth-clients',
    );
    log('pre-registered client for', issuer);
  }
  // Scenarios run in parallel: one namespace each.
  const namespace = `conf-${randomBytes(6).toString('hex')}`;
  await expectStatus(await api(`/namespaces/${namespace}`, { method: 'PUT' }), [201], 'PUT /namespaces');
  const connection = (await expectStatus(await api(`/${namespace}`, { method: 'POST', body: { mcpUrl: serverUrl, name: scenario } }), [201], 'POST connection')) as {
    connectionId: string;
    status: { state: string; authorizationUrl?: string; message?: string };
  };
  log('connection', connection.connectionId, connection.status.state);
  if (connection.status.state === 'auth_required') await authorize(connection.status.authorizationUrl!);
  else if (connection.status.state !== 'connected') throw new HarnessFailure(`the connection is ${JSON.stringify(connection.status)}`);

  const endpoint = `${switchboard}/connect/${namespace}/${connection.connectionId}/mcp`;
  const { tools } = (await call(endpoint, 'tools/list', {})) as { tools: { name: string }[] };
  log('tools', tools.map((tool) => tool.name));
  const tool = tools.find((t) => t.name === 'test-tool') ?? tools[0];
  if (tool) {
    const result = await call(endpoint, 'tools/call', { name: tool.name, arguments: {} });
    if (result.isError) throw new HarnessFailure(`${tool.name} failed: ${JSON.stringify(result).slice(0, 400)}`);
    log('called', tool.name);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log('FAILED:', error instanceof HarnessFailure ? error.message : error);
    process.exit(1);
  },
);
