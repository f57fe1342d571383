import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * Upstreams that die, hang, talk garbage or answer with tens of megabytes, on both paths a call
 * can take through Switchboard (in this process; its memory is read from /proc): the MCP
 * endpoint (raw forwarding with undici, streamed through) and REST tool calls (the SDK client,
 * which reads replies whole). Every upstream is a real MCP server in its own child process;
 * killing one is SIGKILL. While one upstream misbehaves, a second connection to a healthy one
 * is called all along and must never fail.
 */

type JsonRpcMessage = {
  jsonrpc?: string;
  id?: string | number | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: { content?: { type: string; text: string }[] };
  error?: { code: number; message: string };
};

const TIMEOUT_MS = 3_000;
const MAX_REPLY_BYTES = 4 * 1024 * 1024;
const MB = 1024 * 1024;

let server: TestServer;
let key: string;
const upstream = {} as Record<'flaky' | 'healthy' | 'misbehaving', Upstream>;
const conn = {} as Record<'flaky' | 'healthy' | 'misbehaving', string>;
let ns: string;

/** The JSON-RPC messages in an SSE body; data that is not JSON (the garbage cases) is skipped. */
function parseSse(text: string): JsonRpcMessage[] {
  const messages: JsonRpcMessage[] = [];
  for (const event of text.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data.trim() === '') continue;
    try {
      messages.push(JSON.parse(data) as JsonRpcMessage);
    } catch {
      // not JSON: passed through as the upstream sent it
    }
  }
  return messages;
}

/** This process's resident memory now, and its peak since the last resetPeak() (Linux). */
const sb = {
  request(pathname: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
    return server.request(pathname, {
      method: init.method ?? 'GET',
      bearer: key,
      headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  },
  memory(): { rssBytes: number; peakBytes: number } {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rssBytes: kb('VmRSS'), peakBytes: kb('VmHWM') };
  },
  resetPeak(): void {
    fs.writeFileSync('/proc/self/clear_refs', '5');
  },
};

let nextId = 1;
function mcpPost(connectionId: string, message: unknown, signal?: AbortSignal): Promise<Response> {
  return sb.request(`/connect/${ns}/${connectionId}/mcp`, {
    method: 'POST',
    body: message,
    headers: { accept: 'application/json, text/event-stream', 'mcp-session-id': 'smithery-stateless' },
    signal,
  });
}

type McpOutcome = { status: number; answer: JsonRpcMessage | undefined; contentType: string };

/** A tools/call over the MCP endpoint, and the answer to it (JSON or the last SSE message with its id). */
async function mcpCall(connectionId: string, name: string, args: Record<string, unknown>): Promise<McpOutcome> {
  const id = nextId++;
  const response = await mcpPost(connectionId, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
  const contentType = response.headers.get('content-type') ?? '';
  const text = await response.text();
  const messages = contentType.startsWith('text/event-stream') ? parseSse(text) : [JSON.parse(text) as JsonRpcMessage];
  return { status: response.status, answer: messages.filter((m) => m.id === id).at(-1), contentType };
}

type RestOutcome = { status: number; body: { content?: { text: string }[]; error?: string; message?: string } };

async function restCall(connectionId: string, tool: string, args: Record<string, unknown>): Promise<RestOutcome> {
  const response = await sb.request(`/${ns}/${connectionId}/.tools/${tool}`, { method: 'POST', body: args });
  return { status: response.status, body: (await response.json()) as RestOutcome['body'] };
}

/** Calls the healthy upstream over both paths until stopped; every call must succeed. */
function keepCallingHealthy(): { stop(): Promise<{ calls: number; failures: string[] }> } {
  let running = true;
  let calls = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      const [viaMcp, viaRest] = await Promise.all([
        mcpCall(conn.healthy, 'echo', { message: 'still here' }).catch((error: Error) => ({ status: 0, answer: undefined, contentType: error.message })),
        restCall(conn.healthy, 'echo', { message: 'still here' }).catch((error: Error): RestOutcome => ({ status: 0, body: { message: error.message } })),
      ]);
      calls += 2;
      if (viaMcp.status !== 200 || viaMcp.answer?.result?.content?.[0]?.text !== 'Echo: still here') failures.push(`mcp: ${JSON.stringify(viaMcp)}`);
      if (viaRest.status !== 200 || viaRest.body.content?.[0]?.text !== 'Echo: still here') failures.push(`rest: ${JSON.stringify(viaRest)}`);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { calls, failures };
    },
  };
}

/** Fails the test rather than hanging it: the bound is generous, far above what a prompt answer takes. */
function bounded<T>(what: string, work: Promise<T>, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

function expectMcpError(outcome: McpOutcome, pattern: RegExp): void {
  expect(outcome.answer?.error, JSON.stringify(outcome)).toBeDefined();
  expect(outcome.answer!.error!.code).toBe(-32603);
  expect(outcome.answer!.error!.message).toMatch(pattern);
}

function expectRest502(outcome: RestOutcome, pattern: RegExp): void {
  expect(outcome.status, JSON.stringify(outcome.body)).toBe(502);
  expect(outcome.body.error).toBe('bad_gateway');
  expect(outcome.body.message).toMatch(pattern);
}

async function connectionState(connectionId: string): Promise<string> {
  const response = await sb.request(`/${ns}/${connectionId}`);
  return ((await response.json()) as { status: { state: string } }).status.state;
}

beforeAll(async () => {
  const [started] = await Promise.all([
    startTestServer({ UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS), MAX_UPSTREAM_RESPONSE_BYTES: String(MAX_REPLY_BYTES) }),
    ...(['flaky', 'healthy', 'misbehaving'] as const).map(async (name) => {
      upstream[name] = await startFixtureUpstream('sessions', { misbehave: true });
    }),
  ]);
  server = started;
  key = (await server.newAccount('faults')).key;
  ns = ((await (await sb.request('/namespaces', { method: 'POST' })).json()) as { name: string }).name;
  for (const name of ['flaky', 'healthy', 'misbehaving'] as const) {
    const response = await sb.request(`/${ns}`, { method: 'POST', body: { mcpUrl: upstream[name].url } });
    const created = (await response.json()) as { connectionId: string; status: { state: string } };
    expect(response.status, JSON.stringify(created)).toBe(201);
    expect(created.status.state).toBe('connected');
    conn[name] = created.connectionId;
  }
});

afterAll(async () => {
  await Promise.allSettled(Object.values(upstream).map((u) => u.stop()));
  await server?.close();
});

describe('an upstream killed while calls are in flight', () => {
  it('mid-call (no answer yet): both paths answer promptly with an error naming the host; another connection is unaffected', async () => {
    const healthy = keepCallingHealthy();
    const host = `127.0.0.1:${upstream.flaky.port}`;
    // Both calls wait on an upstream that has not answered yet (within the timeout: the kill ends them).
    const viaMcp = mcpCall(conn.flaky, 'misbehave', { kind: 'silent' });
    const viaRest = restCall(conn.flaky, 'misbehave', { kind: 'silent' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const killedAt = performance.now();
    await upstream.flaky.stop();
    const [mcp, rest] = await bounded('calls in flight during the kill', Promise.all([viaMcp, viaRest]));
    const answeredAfterMs = Math.round(performance.now() - killedAt);
    // The cause is the kill, not the timeout: the messages say the connection closed.
    expect(mcp.status).toBe(502);
    expectMcpError(mcp, new RegExp(`${host}.*closed the connection`));
    expectRest502(rest, new RegExp(`${host}.*closed the connection`));
    // While it is down: refused at once, on both paths.
    const [mcpDown, restDown] = await Promise.all([mcpCall(conn.flaky, 'echo', { message: 'x' }), restCall(conn.flaky, 'echo', { message: 'x' })]);
    expectMcpError(mcpDown, new RegExp(`refused by ${host}`));
    expectRest502(restDown, new RegExp(`refused by ${host}`));
    const { calls, failures } = await healthy.stop();
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(0);
    expect(await connectionState(conn.healthy)).toBe('connected');
    console.log(`[faults] upstream SIGKILL mid-call: 2 calls in flight answered 502 within ${answeredAfterMs} ms of the kill; 2 calls while down refused; healthy connection ${calls} calls, ${failures.length} failures`);
  });

  it('restarted: the next calls succeed after a transparent re-initialize', async () => {
    await upstream.flaky.restart();
    const [mcp, rest] = await Promise.all([mcpCall(conn.flaky, 'echo', { message: 'back' }), restCall(conn.flaky, 'echo', { message: 'back' })]);
    expect(mcp.status, JSON.stringify(mcp)).toBe(200);
    expect(mcp.answer?.result?.content?.[0]?.text).toBe('Echo: back');
    expect(rest.status, JSON.stringify(rest)).toBe(200);
    expect(rest.body.content?.[0]?.text).toBe('Echo: back');
    console.log('[faults] upstream restarted after SIGKILL: MCP and REST calls succeed on the next try');
  });

  it('mid-stream (after progress events): the MCP client gets a JSON-RPC error at the end of its stream, the REST call a 502', async () => {
    const healthy = keepCallingHealthy();
    const host = `127.0.0.1:${upstream.flaky.port}`;
    const id = `stream-${nextId++}`;
    const response = await mcpPost(conn.flaky, {
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'progress', arguments: { steps: 20, delayMs: 250 }, _meta: { progressToken: 'kill-me' } },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    // The REST call is under way too (its stream is open, nothing answered yet).
    const viaRest = restCall(conn.flaky, 'progress', { steps: 20, delayMs: 250 });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (parseSse(text).filter((m) => m.method === 'notifications/progress').length < 2) {
      const { done, value } = await bounded('progress events', reader.read());
      if (done) throw new Error(`stream ended early: ${text}`);
      text += value;
    }
    const killedAt = performance.now();
    await upstream.flaky.stop();
    const rest = await bounded('the REST call during the kill', viaRest);
    for (;;) {
      const { done, value } = await bounded('the rest of the stream', reader.read());
      if (done) break;
      text += value;
    }
    const answeredAfterMs = Math.round(performance.now() - killedAt);
    const messages = parseSse(text);
    const progress = messages.filter((m) => m.method === 'notifications/progress').length;
    expect(progress).toBeGreaterThanOrEqual(2);
    expect(progress).toBeLessThan(20);
    const last = messages.at(-1)!;
    expect(last.id).toBe(id);
    expect(last.error?.code).toBe(-32603);
    expect(last.error?.message).toMatch(new RegExp(`${host}.*closed the connection`));
    expectRest502(rest, new RegExp(`${host}.*closed the connection`));
    const { calls, failures } = await healthy.stop();
    expect(failures).toEqual([]);
    await upstream.flaky.restart();
    expect((await mcpCall(conn.flaky, 'echo', { message: 'again' })).answer?.result?.content?.[0]?.text).toBe('Echo: again');
    expect((await restCall(conn.flaky, 'echo', { message: 'again' })).status).toBe(200);
    console.log(`[faults] upstream SIGKILL mid-stream after ${progress} progress events: SSE ended with a JSON-RPC error and REST answered 502 within ${answeredAfterMs} ms; healthy connection ${calls} calls, ${failures.length} failures; restarted, calls succeed`);
  });
});

describe('a slow upstream', () => {
  const seconds = `${TIMEOUT_MS / 1000} s`;
  it('silent before answering, silent mid-body, silent mid-stream: a timeout error naming the host, on both paths', async () => {
    const host = `127.0.0.1:${upstream.misbehaving.port}`;
    const timedOut = new RegExp(`${host} did not answer within ${seconds.replace('.', '\\.')}`);
    const started = performance.now();
    const [mcpSilent, restSilent, mcpSilentBody, restSilentBody, mcpSilentStream, restSilentStream] = await bounded(
      'slow calls',
      Promise.all([
        mcpCall(conn.misbehaving, 'misbehave', { kind: 'silent' }),
        restCall(conn.misbehaving, 'misbehave', { kind: 'silent' }),
        mcpCall(conn.misbehaving, 'misbehave', { kind: 'silent-body' }),
        restCall(conn.misbehaving, 'misbehave', { kind: 'silent-body' }),
        // An event stream that goes quiet for longer than the timeout.
        mcpCall(conn.misbehaving, 'progress', { steps: 1, delayMs: TIMEOUT_MS + 2_000 }),
        restCall(conn.misbehaving, 'progress', { steps: 1, delayMs: TIMEOUT_MS + 2_000 }),
      ]),
    );
    const tookMs = Math.round(performance.now() - started);
    expect(mcpSilent.status).toBe(502);
    expectMcpError(mcpSilent, timedOut);
    expect(mcpSilentBody.status).toBe(502);
    expectMcpError(mcpSilentBody, timedOut);
    expect(mcpSilentStream.contentType).toMatch(/^text\/event-stream/);
    expectMcpError(mcpSilentStream, timedOut);
    for (const rest of [restSilent, restSilentBody, restSilentStream]) expectRest502(rest, timedOut);
    console.log(`[faults] slow upstream (UPSTREAM_TIMEOUT_MS=${TIMEOUT_MS}): 6 calls (3 kinds of silence x 2 paths) all answered with a timeout error naming the host, in ${tookMs} ms together`);
  });
});

describe('an upstream answering garbage', () => {
  const host = () => `127.0.0.1:${upstream.misbehaving.port}`;
  const notMcp = /not an MCP \(JSON-RPC\) message|not MCP|did not answer as an MCP server/;
  // [kind, what the MCP endpoint says, what a REST call says]
  const cases: [string, RegExp, RegExp][] = [
    ['not-json', /not an MCP \(JSON-RPC\) message/, notMcp],
    ['truncated-json', /not an MCP \(JSON-RPC\) message/, notMcp],
    ['wrong-shape', /not an MCP \(JSON-RPC\) message/, notMcp],
    ['binary-as-json', /not an MCP \(JSON-RPC\) message/, notMcp],
    ['wrong-id', /not an MCP \(JSON-RPC\) message/, /did not answer within/],
    ['binary', /content-type application\/octet-stream, not MCP/, /did not answer as an MCP server.*octet-stream/],
    ['html', /content-type text\/html, not MCP/, /did not answer as an MCP server.*text\/html/],
    ['bad-sse', /ended its event stream without answering/, /ended its event stream without answering/],
  ];
  let casesRun = 0;
  afterAll(() => {
    console.log(`[faults] garbage from the upstream: ${casesRun} cases (${cases.length} kinds x MCP endpoint and REST), each a 502 / JSON-RPC error naming the host`);
  });

  it.each(cases)('%s: a clear error naming the host', async (kind, onMcp, onRest) => {
    const [mcp, rest] = await bounded(kind, Promise.all([mcpCall(conn.misbehaving, 'misbehave', { kind }), restCall(conn.misbehaving, 'misbehave', { kind })]));
    // A broken event stream has already begun (200) when it turns out to carry no answer.
    expect(mcp.status).toBe(kind === 'bad-sse' ? 200 : 502);
    expectMcpError(mcp, new RegExp(`${host().replace(/\./g, '\\.')}.*(${onMcp.source})`));
    expectRest502(rest, new RegExp(`${host().replace(/\./g, '\\.')}.*(${onRest.source})`));
    casesRun += 2;
  });

  it('garbage leaves the connection usable: the next call succeeds on both paths', async () => {
    expect((await mcpCall(conn.misbehaving, 'echo', { message: 'ok' })).answer?.result?.content?.[0]?.text).toBe('Echo: ok');
    expect((await restCall(conn.misbehaving, 'echo', { message: 'ok' })).body.content?.[0]?.text).toBe('Echo: ok');
  });
});

describe('huge replies', () => {
  /** Reads an MCP answer slowly at first (the upstream must be held back, not buffered), counting bytes. */
  async function readSlowly(response: Response): Promise<{ bytes: number; tail: string; peakGrowthWhilePaused: number; upstreamWrittenWhilePaused: number }> {
    const reader = response.body!.getReader();
    const first = await reader.read();
    let bytes = first.value?.byteLength ?? 0;
    const before = sb.memory().rssBytes;
    // The client stalls: whatever Switchboard reads from the upstream meanwhile, it must not keep.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const peakGrowthWhilePaused = sb.memory().peakBytes - before;
    const upstreamWrittenWhilePaused = Number((await mcpCall(conn.misbehaving, 'filler-written', {})).answer?.result?.content?.[0]?.text);
    let tail = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      tail = (tail + Buffer.from(value).toString('latin1')).slice(-200);
    }
    return { bytes, tail, peakGrowthWhilePaused, upstreamWrittenWhilePaused };
  }

  it.each([
    ['big-json', 10],
    ['big-json', 50],
    ['big-sse', 10],
    ['big-sse', 50],
  ] as const)('%s of %i MB: streamed through the MCP endpoint with bounded memory; a REST call refuses it with a clear error', async (kind, megabytes) => {
    const host = `127.0.0.1:${upstream.misbehaving.port}`;
    // Settle first, so the peak measured is this reply's doing; REST first, before the stream's garbage.
    await mcpCall(conn.misbehaving, 'echo', { message: 'warm' });
    sb.resetPeak();
    const restBaseline = sb.memory();
    const rest = await bounded('a huge REST reply', restCall(conn.misbehaving, 'misbehave', { kind, megabytes }), 60_000);
    const restPeakGrowth = sb.memory().peakBytes - restBaseline.rssBytes;
    expectRest502(rest, new RegExp(`${host.replace(/\./g, '\\.')} sent a reply larger than this server accepts \\(4 MB\\)`));

    sb.resetPeak();
    const baseline = sb.memory();
    const id = `big-${nextId++}`;
    const response = await mcpPost(conn.misbehaving, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'misbehave', arguments: { kind, megabytes } } });
    expect(response.status).toBe(200);
    const read = await bounded('a huge reply', readSlowly(response), 60_000);
    expect(read.bytes).toBeGreaterThan(megabytes * MB);
    expect(read.tail).toMatch(new RegExp(`"\\}\\]\\},"?|"\\}\\]\\}\\}\\s*$`));
    const mcpPeakGrowth = sb.memory().peakBytes - baseline.rssBytes;

    // While the client stalls, Switchboard must hold the upstream back rather than buffer the
    // reply. The upstream says how far it got: about 10 MB (the loopback sockets' buffers) of a
    // 50 MB reply, where without backpressure it sent all 50 and the runner's RSS grew by 58-69 MB.
    // A 10 MB reply fits in those buffers, so only the 50 MB cases can show it. Memory bounds are
    // generous (RSS is the test runner's, which serves and reads in one process). REST stops at 4 MB.
    if (megabytes === 50) expect(read.upstreamWrittenWhilePaused).toBeLessThanOrEqual(30);
    expect(read.peakGrowthWhilePaused).toBeLessThan(40 * MB);
    expect(restPeakGrowth).toBeLessThan(32 * MB);
    console.log(
      `[faults] ${kind} ${megabytes} MB: MCP endpoint streamed ${(read.bytes / MB).toFixed(1)} MB (while the client stalled for 1.5 s: the upstream had sent ${read.upstreamWrittenWhilePaused} MB, peak RSS +${(read.peakGrowthWhilePaused / MB).toFixed(1)} MB; +${(mcpPeakGrowth / MB).toFixed(1)} MB over the whole transfer, test client included); REST refused it with 502 (peak RSS +${(restPeakGrowth / MB).toFixed(1)} MB)`,
    );
  });
});
