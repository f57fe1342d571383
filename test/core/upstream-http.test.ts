import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createEgress, createGuardedConnector } from '../../src/core/network/guarded-dispatcher.ts';
import { parseEgressAllowlist } from '../../src/egress-allowlist.ts';
import { createUpstreamHttp, readSmallBody } from '../../src/core/upstream/upstream-http.ts';

/**
 * The keep-alive race: an upstream closes a kept-alive connection as idle just as a request is
 * written to it. A raw TCP server plays each part exactly, request by request: `close` ends the
 * connection (FIN); `reset` aborts it (RST), which is what Linux sends when a server closes a
 * socket with a request still unread in it, the likelier form of the race.
 */
type Behaviour = 'answer' | 'close' | 'reset';

async function rawUpstream(plan: (connection: number, request: number) => Behaviour) {
  let connections = 0;
  const requestsSeen: string[] = [];
  const server = net.createServer((socket) => {
    const connection = ++connections;
    let served = 0;
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      // Each test request is one small POST with a body of known length.
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/content-length: (\d+)/i.exec(buffered)?.[1] ?? 0);
      if (buffered.length < end + 4 + length) return;
      const body = buffered.slice(end + 4, end + 4 + length);
      buffered = '';
      requestsSeen.push(`${connection}:${body}`);
      const behaviour = plan(connection, ++served);
      if (behaviour === 'close') return void socket.end();
      if (behaviour === 'reset') return void socket.resetAndDestroy();
      const answer = `{"echo":${JSON.stringify(body)}}`;
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${answer.length}\r\n\r\n${answer}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/mcp`),
    requestsSeen,
    get connections() {
      return connections;
    },
    async close() {
      await http.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Lets the pool see the connection free again, so the next request reuses it. */
const connectionFreed = () => new Promise((resolve) => setTimeout(resolve, 100));

/** The raw forwarder's HTTP client, as a gateway makes it: each case's upstream closes its pools. */
const http = createUpstreamHttp();
const connect = createGuardedConnector(parseEgressAllowlist('127.0.0.1'));
const send = (url: URL, body: string) =>
  http.send({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from(body), timeoutMs: 3_000, connect });

describe('the raw forwarder\'s HTTP client and connections the upstream closes', () => {

  it('sends again on a fresh connection when a kept-alive one is closed unanswered', async () => {
    const upstream = await rawUpstream((connection, request) => (connection === 1 && request === 2 ? 'close' : 'answer'));
    try {
      const first = await send(upstream.url, 'one');
      expect((await readSmallBody(first.body)).toString()).toBe('{"echo":"one"}');
      await connectionFreed();
      const second = await send(upstream.url, 'two');
      expect((await readSmallBody(second.body)).toString()).toBe('{"echo":"two"}');
      expect(upstream.requestsSeen).toEqual(['1:one', '1:two', '2:two']);
    } finally {
      await upstream.close();
    }
  });

  it('sends once on a new connection the upstream closes unanswered (it may have acted on it)', async () => {
    const upstream = await rawUpstream(() => 'close');
    try {
      await expect(send(upstream.url, 'once')).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
      expect(upstream.requestsSeen).toEqual(['1:once']);
    } finally {
      await upstream.close();
    }
  });

  it('sends again at most once, and reports the first failure when the retry fails too', async () => {
    const upstream = await rawUpstream((_connection, request) => (request === 1 && upstream.requestsSeen.length === 1 ? 'answer' : 'close'));
    try {
      const first = await send(upstream.url, 'one');
      await readSmallBody(first.body);
      await connectionFreed();
      await expect(send(upstream.url, 'two')).rejects.toMatchObject({ code: 'UND_ERR_SOCKET', message: 'other side closed' });
      expect(upstream.requestsSeen).toEqual(['1:one', '1:two', '2:two']);
    } finally {
      await upstream.close();
    }
  });

  it('sends again on a fresh connection when a kept-alive one is reset unanswered', async () => {
    const upstream = await rawUpstream((connection, request) => (connection === 1 && request === 2 ? 'reset' : 'answer'));
    try {
      const first = await send(upstream.url, 'one');
      expect((await readSmallBody(first.body)).toString()).toBe('{"echo":"one"}');
      await connectionFreed();
      const second = await send(upstream.url, 'two');
      expect((await readSmallBody(second.body)).toString()).toBe('{"echo":"two"}');
      expect(upstream.requestsSeen).toEqual(['1:one', '1:two', '2:two']);
    } finally {
      await upstream.close();
    }
  });

  it('sends once on a new connection the upstream resets unanswered', async () => {
    const upstream = await rawUpstream(() => 'reset');
    try {
      await expect(send(upstream.url, 'once')).rejects.toMatchObject({ code: 'ECONNRESET' });
      expect(upstream.requestsSeen).toEqual(['1:once']);
    } finally {
      await upstream.close();
    }
  });
});

/** The egress fetch carries the MCP SDK's requests (session start, REST tool calls): the same race, the same answer. */
describe('the egress fetch and connections the upstream closes', () => {
  const post = (egress: ReturnType<typeof createEgress>, url: URL, body: string) =>
    egress.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it.each(['close', 'reset'] as const)('sends again on a fresh connection when a kept-alive one is met with %s unanswered', async (behaviour) => {
    const upstream = await rawUpstream((connection, request) => (connection === 1 && request === 2 ? behaviour : 'answer'));
    const egress = createEgress(parseEgressAllowlist('127.0.0.1'));
    try {
      expect(await (await post(egress, upstream.url, 'one')).text()).toBe('{"echo":"one"}');
      await connectionFreed();
      expect(await (await post(egress, upstream.url, 'two')).text()).toBe('{"echo":"two"}');
      expect(upstream.requestsSeen).toEqual(['1:one', '1:two', '2:two']);
    } finally {
      await egress.close();
      await upstream.close();
    }
  });

  it('sends once on a new connection the upstream resets, and once a body that cannot be replayed', async () => {
    const upstream = await rawUpstream((connection, request) => (connection === 1 && request === 1 ? 'answer' : 'reset'));
    const egress = createEgress(parseEgressAllowlist('127.0.0.1'));
    try {
      expect(await (await post(egress, upstream.url, 'one')).text()).toBe('{"echo":"one"}');
      await connectionFreed();
      const streamed = new Blob(['two']).stream();
      await expect(
        egress.fetch(upstream.url, { method: 'POST', headers: { 'content-length': '3' }, body: streamed, duplex: 'half' } as RequestInit),
      ).rejects.toMatchObject({ cause: { code: 'ECONNRESET' } });
      await expect(post(egress, upstream.url, 'three')).rejects.toMatchObject({ cause: { code: 'ECONNRESET' } });
      expect(upstream.requestsSeen).toEqual(['1:one', '1:two', '2:three']);
    } finally {
      await egress.close();
      await upstream.close();
    }
  });
});

