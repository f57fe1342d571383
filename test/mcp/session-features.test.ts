import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startModernFeaturesUpstream, startServerEverything, startSessionUpstream, type Upstream } from '../helpers/upstreams.ts';
import { createConnectionsTo, eventually, textOf } from '../helpers/mcp-clients.ts';

/**
 * What is per client in MCP, end to end through `/connect/{ns}/{id}/mcp` with real clients (the
 * MCP SDK 1.x and v2 clients) against real upstreams in child processes: cancellation,
 * progress and resource subscriptions (docs/mcp-sessions.md, "What passes through"). Every
 * wait is on an event (a message heard, an upstream's own report), never on time.
 */

let server: TestServer;
let owner: { key: string; accountId: string };
let ns: string;
const upstream = {} as Record<'everything' | 'sessions' | 'modern', Upstream>;
const conn = {} as Record<'everything' | 'sessions' | 'modern', string>;
const clients: { close(): Promise<void> }[] = [];

const endpoint = (id: string) => `${server.url}/connect/${ns}/${id}/mcp`;

type CallOptions = { signal?: AbortSignal; onprogress?: (progress: { progress: number; total?: number }) => void };

/** One client of either SDK line, with what these tests need of it. */
type Session = {
  call(name: string, args: Record<string, unknown>, options?: CallOptions): Promise<string>;
  /** Resolves once the client's GET stream is open, so the upstream has somewhere to send on its own. */
  streamOpen: Promise<void>;
  /** Errors the client reported on its own (e.g. a progress notification for a token it never sent). */
  errors: string[];
};

/** A fetch that tells when the client's GET stream is open: Switchboard answers it only once the upstream's is. */
function fetchNoticingStream(): { fetch: typeof fetch; streamOpen: Promise<void> } {
  let opened!: () => void;
  const streamOpen = new Promise<void>((resolve) => (opened = resolve));
  return {
    streamOpen,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if ((init?.method ?? 'GET').toUpperCase() === 'GET' && response.status === 200) opened();
      return response;
    },
  };
}

async function connectV1(connectionId: string): Promise<Session & { client: Client }> {
  const noticing = fetchNoticingStream();
  const transport = new StreamableHTTPClientTransport(new URL(endpoint(connectionId)), {
    requestInit: { headers: { authorization: `Bearer ${owner.key}` } },
    fetch: noticing.fetch,
  });
  const client = new Client({ name: 'features-test', version: '1.0.0' }, { capabilities: {} });
  const errors: string[] = [];
  client.onerror = (error) => void errors.push(error.message);
  clients.push(client);
  await client.connect(transport);
  return {
    client,
    errors,
    streamOpen: noticing.streamOpen,
    call: async (name, args, options) => textOf(await client.callTool({ name, arguments: args }, undefined, options)),
  };
}

async function connectV2(connectionId: string, capabilities: Record<string, unknown> = {}): Promise<Session & { client: ClientV2 }> {
  const noticing = fetchNoticingStream();
  const transport = new TransportV2(new URL(endpoint(connectionId)), {
    requestInit: { headers: { authorization: `Bearer ${owner.key}` } },
    fetch: noticing.fetch,
  });
  const client = new ClientV2({ name: 'features-test-v2', version: '1.0.0' }, { capabilities, versionNegotiation: { mode: 'auto' } });
  const errors: string[] = [];
  client.onerror = (error) => void errors.push(error.message);
  clients.push(client);
  await client.connect(transport);
  return {
    client,
    errors,
    streamOpen: noticing.streamOpen,
    call: async (name, args, options) => textOf(await client.callTool({ name, arguments: args }, options)),
  };
}

/** A promise and the function that resolves it, for "this has happened" events. */
function signal(): { happened: Promise<void>; happen: () => void } {
  let happen!: () => void;
  const happened = new Promise<void>((resolve) => (happen = resolve));
  return { happened, happen };
}

beforeAll(async () => {
  const [started] = await Promise.all([
    // Longer than any test: an upstream call must end because the client cancelled it, never
    // because Switchboard gave up on it. A short grace period: after a cancelled 2025-era call the
    // upstream never answers, and its relay would hold the shutdown (docs/mcp-sessions.md, "Known
    // gaps"); so, for a reason not yet found, do listen streams that carried events.
    startTestServer({ UPSTREAM_TIMEOUT_MS: '120000', SHUTDOWN_GRACE_MS: '2000' }),
    startServerEverything().then((u) => (upstream.everything = u)),
    startSessionUpstream().then((u) => (upstream.sessions = u)),
    startModernFeaturesUpstream().then((u) => (upstream.modern = u)),
  ]);
  server = started;
  owner = await server.newAccount('owner');
  const created = await server.request('/namespaces', { method: 'POST', bearer: owner.key });
  ns = ((await created.json()) as { name: string }).name;
  Object.assign(conn, await createConnectionsTo(server, owner.key, ns, { everything: upstream.everything.url, sessions: upstream.sessions.url, modern: upstream.modern.url }));
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => {})));
  await server?.close();
  await Promise.all(Object.values(upstream).map((u) => u.stop()));
});

describe('2025 era: a session per client', () => {
  it.each([
    ['SDK 1.x', 'v2', connectV1, connectV2],
    ['v2', 'SDK 1.x', connectV2, connectV1],
  ] as const)('cancellation: a %s client cancels its call, the upstream hears it on that client’s session; a %s client’s call on the same connection goes on', async (_a, _b, connectA, connectB) => {
    const a = await connectA(conn.sessions);
    const b = await connectB(conn.sessions);
    const sessionOfA = await a.call('session-id', {});
    expect(await b.call('session-id', {})).not.toBe(sessionOfA);
    const label = `${_a}-${Math.random().toString(36).slice(2)}`;
    const other = `${label}-other`;

    // Each call reports progress 0 as it starts: both are running upstream before A cancels.
    const startedA = signal();
    const startedB = signal();
    const abort = new AbortController();
    const callA = a.call('hold', { label }, { signal: abort.signal, onprogress: startedA.happen });
    const callB = b.call('hold', { label: other }, { onprogress: startedB.happen });
    callA.catch(() => {});
    await Promise.all([startedA.happened, startedB.happened]);
    abort.abort('A changed its mind');
    await expect(callA).rejects.toThrow();

    // The upstream's own record: A's call was cancelled, on A's upstream session, with A's reason.
    const heard = await fetch(upstream.sessions.url.replace(/\/mcp$/, `/cancelled/${label}`));
    expect(await heard.json()).toEqual({ sessionId: sessionOfA, reason: 'A changed its mind' });

    // B's call was never touched: still running, it answers once released.
    expect(await b.call('release', { label: other })).toBe(`released ${other}`);
    expect(await callB).toBe(`released ${other}`);
    // A's session carries on after the cancellation.
    expect(await a.call('echo', { message: 'after' })).toBe('Echo: after');
  });

  it('progress: two clients’ concurrent calls each get their own progress, in order, and no one else’s', async () => {
    // Both SDKs number requests alike, so the two calls carry the same progress token: only
    // sessions kept apart keep their progress apart.
    const clientsOf = [await connectV1(conn.everything), await connectV1(conn.everything)];
    const heard: string[][] = [[], []];
    const results = await Promise.all(
      [3, 4].map((steps, which) =>
        clientsOf[which]!.call(
          'trigger-long-running-operation',
          { duration: steps / 10, steps },
          { onprogress: ({ progress, total }) => void heard[which]!.push(`${progress}/${total}`) },
        ),
      ),
    );
    expect(heard).toEqual([
      ['1/3', '2/3', '3/3'],
      ['1/4', '2/4', '3/4', '4/4'],
    ]);
    expect(results[0]).toMatch(/Steps: 3\./);
    expect(results[1]).toMatch(/Steps: 4\./);
    expect(clientsOf.flatMap((one) => one.errors)).toEqual([]);
  });

  it('resource subscriptions: an update reaches the GET stream of the client that subscribed, never another client’s', async () => {
    const a = await connectV1(conn.everything);
    const b = await connectV1(conn.everything);
    await Promise.all([a.streamOpen, b.streamOpen]);
    const updatesTo = (client: Client) => {
      const uris: string[] = [];
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void uris.push(n.params.uri));
      return uris;
    };
    const heardByA = updatesTo(a.client);
    const heardByB = updatesTo(b.client);
    const [first, second, third] = [1, 2, 3].map((n) => `demo://resource/dynamic/text/${n}-${Math.random().toString(36).slice(2)}`) as [string, string, string];

    // server-everything's toggle sends, at once and outside the call, one update per resource the
    // session subscribed to, walking every URI in the order anyone first subscribed to it.
    await a.client.subscribeResource({ uri: first });
    await a.call('toggle-subscriber-updates', {});
    await eventually(heardByA, (uri) => uri === first);

    await b.client.subscribeResource({ uri: second });
    await b.call('toggle-subscriber-updates', {});
    await eventually(heardByB, (uri) => uri === second);
    // Had B's session been A's, `first` would have reached B before `second`.
    expect(heardByB).not.toContain(first);

    // And the other way round: A's own update for `third` comes after any for `second`.
    await a.client.subscribeResource({ uri: third });
    expect(await a.call('toggle-subscriber-updates', {})).toMatch(/^Stopped/);
    expect(await a.call('toggle-subscriber-updates', {})).toMatch(/^Started/);
    await eventually(heardByA, (uri) => uri === third);
    expect(heardByA).not.toContain(second);
    expect(new Set(heardByB)).toEqual(new Set([second]));
  });
});

describe('2026-07-28 era: no sessions, each request carries what it needs', () => {
  it('the v2 client speaks 2026-07-28 through the relay, and gets no session id', async () => {
    const { client } = await connectV2(conn.modern);
    expect(client.getProtocolEra()).toBe('modern');
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
  });

  it('elicitation declared per request: the upstream asks (input_required), the client’s handler answers, the call completes', async () => {
    const { client, call } = await connectV2(conn.modern, { elicitation: {} });
    const asked: string[] = [];
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(String(request.params.message));
      return { action: 'accept', content: { answer: 'yes, go' } };
    });
    expect(await call('confirm', { question: 'Deploy?' })).toBe('the client said: yes, go');
    expect(asked).toEqual(['Deploy?']);
  });

  it('progress: two clients’ concurrent calls each get their own progress, in order', async () => {
    const clientsOf = [await connectV2(conn.modern), await connectV2(conn.modern)];
    const heard: string[][] = [[], []];
    const results = await Promise.all(
      [3, 4].map((steps, which) =>
        clientsOf[which]!.call('progress', { steps }, { onprogress: ({ progress, total }) => void heard[which]!.push(`${progress}/${total}`) }),
      ),
    );
    expect(heard).toEqual([
      ['1/3', '2/3', '3/3'],
      ['1/4', '2/4', '3/4', '4/4'],
    ]);
    expect(results).toEqual(['done after 3 steps', 'done after 4 steps']);
    expect(clientsOf.flatMap((one) => one.errors)).toEqual([]);
  });

  it('cancellation: a client cancels its call (closing its stream), the upstream’s call is cancelled; another client’s call goes on', async () => {
    const a = await connectV2(conn.modern);
    const b = await connectV2(conn.modern);
    const label = `modern-${Math.random().toString(36).slice(2)}`;
    const other = `${label}-other`;
    const startedA = signal();
    const startedB = signal();
    const abort = new AbortController();
    const callA = a.call('hold', { label }, { signal: abort.signal, onprogress: startedA.happen });
    const callB = b.call('hold', { label: other }, { onprogress: startedB.happen });
    callA.catch(() => {});
    await Promise.all([startedA.happened, startedB.happened]);
    abort.abort('A changed its mind');
    await expect(callA).rejects.toThrow();
    const heard = await fetch(upstream.modern.url.replace(/\/mcp$/, `/cancelled/${label}`));
    expect(((await heard.json()) as { reason: string }).reason).toBeTruthy();
    expect(await b.call('release', { label: other })).toBe(`released ${other}`);
    expect(await callB).toBe(`released ${other}`);
  });

  it('subscriptions/listen: list_changed and resources/updated reach the client that listens for them, and only what it asked for', async () => {
    const a = await connectV2(conn.modern);
    const b = await connectV2(conn.modern);
    const heardBy = (client: ClientV2) => {
      const heard: string[] = [];
      client.setNotificationHandler('notifications/resources/updated', (n) => void heard.push(n.params.uri));
      client.setNotificationHandler('notifications/tools/list_changed', () => void heard.push('tools'));
      return heard;
    };
    const heardByA = heardBy(a.client);
    const heardByB = heardBy(b.client);
    const listenA = await a.client.listen({ toolsListChanged: true, resourceSubscriptions: ['fixture://note'] });
    const listenB = await b.client.listen({ toolsListChanged: true });
    expect(listenA.honoredFilter).toEqual({ toolsListChanged: true, resourceSubscriptions: ['fixture://note'] });
    expect(await a.call('touch', { uri: 'fixture://note' })).toBe('touched fixture://note');
    await eventually(heardByA, (m) => m === 'tools');
    await eventually(heardByA, (m) => m === 'fixture://note');
    await eventually(heardByB, (m) => m === 'tools');
    // The upstream sends an update before the list_changed of the same touch, on the same stream.
    expect(heardByB).toEqual(['tools']);
    await Promise.all([listenA.close(), listenB.close()]);
  });
});

describe('a 2025-era client of a 2026-07-28 upstream', () => {
  it('gets progress in the call’s stream; an elicitation the upstream needs is refused with a clear error, never a hang', async () => {
    const { client, call } = await connectV1(conn.modern);
    const heard: number[] = [];
    expect(await call('progress', { steps: 2 }, { onprogress: ({ progress }) => void heard.push(progress) })).toBe('done after 2 steps');
    expect(heard).toEqual([1, 2]);
    // Switchboard answers such a client's initialize itself and sends every request with no
    // client capabilities: the upstream cannot ask it anything (docs/mcp-sessions.md).
    const refused = await client.callTool({ name: 'confirm', arguments: { question: 'Deploy?' } }).catch((error: Error) => error);
    expect(String(refused)).toMatch(/-32021|client capabilities do not declare/);
  });
});
