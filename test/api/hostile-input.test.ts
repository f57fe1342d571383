import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attenuateToken } from '../../src/core/tokens/token-format.ts';
import { exchange, inPieces, rawRequest, type RawResponse } from '../helpers/raw-http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * Hostile input that fetch would never send (it normalises `..` and some encodings), written to
 * a raw socket: traversal and odd encodings in namespace, connection and tool names on the REST
 * routes and the MCP endpoint, oversized headers and bodies, bodies whose length lies, stalled
 * requests, and a crowd of malformed requests at once. The answers are 4xx JSON, never a 5xx,
 * never another account's data, and the server keeps answering.
 */
const MAX_BODY_BYTES = 64 * 1024;
const HOME = 'hostile-home';
const OTHER = 'hostile-other';
const HOME_CONNECTION = 'conn-a';
const OTHER_CONNECTION = 'conn-b';
const otherTenantMarker = `tenant-b-${randomBytes(6).toString('hex')}`;

let server: TestServer;
let fixture: Upstream;
let homeKey: string;
let otherKey: string;

beforeAll(async () => {
  fixture = await startFixtureUpstream('sessions');
  server = await startTestServer({ MAX_BODY_BYTES: String(MAX_BODY_BYTES), ALLOWED_UPSTREAM_HOSTS: '127.0.0.1', RATE_LIMIT_TOKEN_PER_MINUTE: '0' });
  homeKey = (await server.newAccount('home')).key;
  otherKey = (await server.newAccount('other')).key;
  const put = (bearer: string, target: string, body?: unknown) =>
    server.request(target, { method: 'PUT', bearer, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  expect((await put(homeKey, `/namespaces/${HOME}`)).status).toBe(201);
  expect((await put(homeKey, `/${HOME}/${HOME_CONNECTION}`, { mcpUrl: fixture.url })).status).toBe(201);
  expect((await put(otherKey, `/namespaces/${OTHER}`)).status).toBe(201);
  expect((await put(otherKey, `/${OTHER}/${OTHER_CONNECTION}`, { mcpUrl: fixture.url, name: otherTenantMarker })).status).toBe(201);
});

afterAll(async () => {
  await server?.close();
  await fixture?.stop();
});

const auth = (key: string): [string, string] => ['authorization', `Bearer ${key}`];
const json: [string, string] = ['content-type', 'application/json'];
const mcpRequest = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });

function send(method: string, target: string, extra: { headers?: [string, string][]; body?: string } = {}): Promise<RawResponse> {
  return rawRequest(server.port, { method, target, headers: [auth(homeKey), ...(extra.headers ?? [])], body: extra.body });
}

/** A 4xx (never 5xx) with a JSON `{error, message}` body that says nothing of the other account. */
function expectJsonRefusal(response: RawResponse, statuses: number[], label: string) {
  expect(statuses, `${label}: ${response.status} ${response.body.slice(0, 200)}`).toContain(response.status);
  expect(response.headers['content-type']?.[0], label).toMatch(/^application\/json/);
  const body = JSON.parse(response.body) as Record<string, unknown>;
  expect(typeof body.error, label).toBe('string');
  expect(typeof body.message, label).toBe('string');
  expect(response.body, label).not.toContain(otherTenantMarker);
}

async function expectServerAnswers() {
  const health = await rawRequest(server.port, { method: 'GET', target: '/health' });
  expect(health.status).toBe(200);
}

// ------------------------------------------------------------------ names

/** Odd spellings of a path segment. None names anything that exists. */
const oddSegments: [string, string][] = [
  ['dot-dot', '..'],
  ['dot', '.'],
  ['encoded dot-dot', '%2e%2e'],
  ['mixed-case encoded dot-dot', '%2E%2e'],
  ['half-encoded dot-dot', '.%2e'],
  ['dot-dot then the other namespace', `..%2F${OTHER}`],
  ['traversal to the other namespace', `..%2F..%2F${OTHER}%2F${OTHER_CONNECTION}`],
  ['encoded slash', '%2F'],
  ['encoded slash and the other namespace', `%2F${OTHER}`],
  ['NUL', '%00'],
  ['name then NUL', `${HOME_CONNECTION}%00`],
  ['bad percent-encoding', '%ZZ'],
  ['lone percent', '%'],
  ['truncated percent-encoding', '%2'],
  ['double-encoded slash', '%252F'],
  ['double-encoded dot-dot', '%252e%252e'],
  ['overlong UTF-8 dots', '%C0%AE%C0%AE'],
  ['overlong UTF-8 slash', '%C0%AF'],
  ['3-byte overlong dot', '%E0%80%AE'],
  ['UTF-8 surrogate', '%ED%A0%80'],
  ['invalid UTF-8 byte', '%FF'],
  ['fullwidth dots', '%EF%BC%8E%EF%BC%8E'],
  ['unicode hyphen lookalike of the other namespace', 'hostile%E2%80%90other'],
  ['combining accent', 'ho%CC%81stile-other'],
  ['uppercase other namespace', 'HOSTILE-OTHER'],
  ['backslashes', '..\\..\\'],
  ['encoded backslashes', '%5C..%5C'],
  ['very long', 'x'.repeat(4000)],
  ['leading space', `%20${OTHER}`],
  ['trailing newline', `${OTHER}%0A`],
  ['semicolon parameter', `${OTHER};x=1`],
];

/** Where a segment can go: namespace, connection and tool positions, REST and MCP. */
const positions: { label: string; method: string; target: (segment: string) => string; body?: string }[] = [
  { label: 'namespace listing', method: 'GET', target: (s) => `/${s}` },
  { label: 'namespace of a connection', method: 'GET', target: (s) => `/${s}/${OTHER_CONNECTION}` },
  { label: 'connection id', method: 'GET', target: (s) => `/${HOME}/${s}` },
  { label: 'connection id on delete', method: 'DELETE', target: (s) => `/${HOME}/${s}` },
  { label: 'tool name', method: 'GET', target: (s) => `/${HOME}/${HOME_CONNECTION}/.tools/${s}` },
  { label: 'tool call', method: 'POST', target: (s) => `/${HOME}/${HOME_CONNECTION}/.tools/${s}`, body: '{}' },
  { label: 'namespace route', method: 'GET', target: (s) => `/namespaces/${s}` },
  { label: 'namespace create', method: 'PUT', target: (s) => `/namespaces/${s}` },
  { label: 'namespace delete', method: 'DELETE', target: (s) => `/namespaces/${s}` },
  { label: 'legacy prefix', method: 'GET', target: (s) => `/connect/${s}/${OTHER_CONNECTION}` },
  { label: 'MCP namespace', method: 'POST', target: (s) => `/connect/${s}/${OTHER_CONNECTION}/mcp`, body: mcpRequest },
  { label: 'MCP connection', method: 'POST', target: (s) => `/connect/${HOME}/${s}/mcp`, body: mcpRequest },
];

describe('traversal and odd encodings in names', () => {
  it('reaches the real rows with plain names (the control for the refusals below)', async () => {
    const ok = await Promise.all([
      send('GET', `/${HOME}/${HOME_CONNECTION}`),
      send('GET', `/${HOME}/${HOME_CONNECTION}/.tools/echo`),
      send('POST', `/${HOME}/${HOME_CONNECTION}/.tools/echo`, { headers: [json], body: '{"message":"hi"}' }),
      send('POST', `/connect/${HOME}/${HOME_CONNECTION}/mcp`, { headers: [json, ['accept', 'application/json, text/event-stream']], body: mcpRequest }),
    ]);
    expect(ok.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const other = await send('GET', `/${OTHER}/${OTHER_CONNECTION}`);
    expectJsonRefusal(other, [404], 'the other account’s connection');
  });

  it.each(oddSegments)('%s: 400 or 404 with JSON in every position, nothing of the other account', async (label, segment) => {
    const answers = await Promise.all(
      positions.map((position) =>
        send(position.method, position.target(segment), {
          headers: position.body ? [json, ['accept', 'application/json, text/event-stream']] : [],
          body: position.body,
        }),
      ),
    );
    answers.forEach((answer, i) => expectJsonRefusal(answer, [400, 404], `${label} as ${positions[i]!.label}`));
  });

  it.each([
    ['trailing slash', `/${HOME}/${HOME_CONNECTION}/`],
    ['doubled slash inside', `/${HOME}//${HOME_CONNECTION}`],
    ['doubled leading slash', `//${HOME}/${HOME_CONNECTION}`],
    ['trailing slashes on a tool', `/${HOME}/${HOME_CONNECTION}/.tools/echo//`],
    ['a tool as several segments', `/${HOME}/${HOME_CONNECTION}/.tools/github/create_issue`],
    ['an encoded slash in a tool', `/${HOME}/${HOME_CONNECTION}/.tools/github%2Fcreate_issue`],
    ['doubled slash to the other account', `/${OTHER}//${OTHER_CONNECTION}`],
    ['trailing slash to the other account', `/${OTHER}/${OTHER_CONNECTION}/`],
  ])('%s: never a 5xx, never the other account', async (label, target) => {
    const answer = await send('GET', target);
    expect(answer.status, label).toBeLessThan(500);
    expect(answer.body).not.toContain(otherTenantMarker);
    if (target.includes(OTHER)) expect(answer.status, label).toBe(404);
    if (answer.status >= 400) expectJsonRefusal(answer, [400, 404], label);
  });

  it.each([
    ['the asterisk form', '*'],
    ['an absolute-form URL that does not parse', 'http://[::1'],
    ['a scheme-less target', 'namespaces'],
  ])('refuses %s as the request target with 400', async (label, target) => {
    expectJsonRefusal(await send('GET', target), [400], label);
  });

  it.each([
    '/oauth/authorize/%00',
    '/oauth/authorize/%ZZ',
    '/oauth/authorize/%ED%A0%80',
    `/oauth/authorize/${'a'.repeat(5000)}`,
    '/oauth/authorize/eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.',
    '/oauth/callback',
    '/oauth/callback?state=%00&code=x',
    '/oauth/callback?state=%ED%A0%80&code=%00',
    `/oauth/callback?state=${'s'.repeat(5000)}&code=c`,
    '/oauth/callback?state=a&state=b&code=c&code=d',
    '/oauth/callback?error=access_denied&error_description=%3Cscript%3E&state=x',
    '/oauth/callback?__proto__=1&constructor=2',
    '/oauth/client-metadata.json?x=%ZZ',
  ])('the OAuth page %s never answers 5xx', async (target) => {
    const answer = await rawRequest(server.port, { method: 'GET', target });
    expect(answer.status, answer.body.slice(0, 200)).toBeLessThan(500);
    expect(answer.body).not.toContain('<script>');
  });

  it('accepts the absolute form a proxy sends, for the path it names', async () => {
    const answer = await send('GET', `http://switchboard.example/${HOME}/${HOME_CONNECTION}`);
    expect(answer.status).toBe(200);
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', '__proto__[polluted]', 'constructor[prototype][x]'])(
    'takes ?%s= as an ordinary (unknown) query parameter',
    async (name) => {
      for (const target of [`/namespaces?${name}=1`, `/namespaces?${name}=1&${name}=2`, `/${HOME}?${name}=1`, `/${HOME}?metadata[${name}]=1`]) {
        const answer = await send('GET', target);
        expect(answer.status, target).toBeLessThan(500);
        if (answer.status >= 400) expectJsonRefusal(answer, [400], target);
      }
      expect({} as Record<string, unknown>).not.toHaveProperty('polluted');
    },
  );
});

// ------------------------------------------------------------------ tokens

describe('service tokens attenuated offline with hostile block ids', () => {
  // The holder of a token chooses the ids of the blocks it appends: they reach lookups and rows.
  it.each([
    ['NUL', 'tok_\u0000'],
    ['an unpaired surrogate', 'tok_\ud800'],
    ['a very long id', `tok_${'a'.repeat(3000)}`],
    ['SQL', "tok_' or 1=1 --"],
  ])('%s: minting from it, revoking it and using it never answer 5xx', async (_label, blockId) => {
    const minted = await send('POST', '/tokens', { headers: [json], body: '{}' });
    const parent = (JSON.parse(minted.body) as { token: string }).token;
    const hostile = attenuateToken(parent, { id: blockId, exp: Math.floor(Date.now() / 1000) + 600, policy: [{ operations: ['read'] }] });
    const answers = await Promise.all([
      rawRequest(server.port, { method: 'POST', target: '/tokens', headers: [auth(hostile), json], body: '{}' }),
      rawRequest(server.port, { method: 'GET', target: `/${HOME}`, headers: [auth(hostile)] }),
      send('POST', '/tokens/revoke', { headers: [json], body: JSON.stringify({ token: hostile }) }),
      send('POST', '/tokens/revoke', { headers: [json], body: JSON.stringify({ id: blockId }) }),
    ]);
    for (const answer of answers) {
      expect(answer.status, answer.body.slice(0, 200)).toBeLessThan(500);
      if (answer.status >= 400) expectJsonRefusal(answer, [400, 401, 403, 404], blockId.slice(0, 20));
    }
  });
});

// ------------------------------------------------------------------ headers

describe('oversized and malformed headers', () => {
  it('answers 431 with JSON to a 100 KB header, closes the socket, and keeps serving', async () => {
    const answer = await rawRequest(server.port, { method: 'GET', target: '/health', headers: [['x-big', 'a'.repeat(100_000)]] });
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.body)).toEqual({ error: 'headers_too_large', message: expect.any(String) });
    expect(answer.closed).toBe(true);
    await expectServerAnswers();
  });

  it.each([
    ['a 20 KB request target', () => ({ target: `/namespaces/${'a'.repeat(20_000)}`, headers: [] as [string, string][] })],
    ['3,000 small headers', () => ({ target: '/health', headers: Array.from({ length: 3000 }, (_, i): [string, string] => [`x-h${i}`, 'value']) })],
    ['a huge bearer token', () => ({ target: `/${HOME}`, headers: [['authorization', `Bearer ${'t'.repeat(90_000)}`]] as [string, string][] })],
  ])('answers 431 with JSON to %s', async (_label, make) => {
    const { target, headers } = make();
    const answer = await rawRequest(server.port, { method: 'GET', target, headers });
    expect(answer.status).toBe(431);
    expect(answer.headers['content-type']?.[0]).toMatch(/^application\/json/);
    await expectServerAnswers();
  });

  it.each([
    ['a control character in a header value', 'GET /health HTTP/1.1\r\nhost: x\r\nx-bad: a\x01b\r\n\r\n'],
    ['a header without a colon', 'GET /health HTTP/1.1\r\nhost: x\r\nno-colon-here\r\n\r\n'],
    ['a space in the target', 'GET /name spaces HTTP/1.1\r\nhost: x\r\n\r\n'],
    ['raw UTF-8 in the target', 'GET /namespaces/\u00e9 HTTP/1.1\r\nhost: x\r\n\r\n'],
    ['a garbage request line', 'HELLO\r\n\r\n'],
    ['an unknown HTTP version', 'GET /health HTTP/9.9\r\nhost: x\r\n\r\n'],
    ['both content-length and chunked', 'POST /namespaces HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['two different content-lengths', 'POST /namespaces HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}'],
    ['a negative content-length', 'POST /namespaces HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n{}'],
    ['a bad chunk size', 'POST /namespaces HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n'],
  ])('answers 400 with JSON to %s', async (_label, raw) => {
    const answer = await exchange(server.port, [Buffer.from(raw, 'utf8')], 15_000);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual({ error: 'validation_error', message: expect.any(String) });
    await expectServerAnswers();
  });
});

// ------------------------------------------------------------------ bodies

/** A chunked request whose chunks add up to `total` bytes, never announcing a length. */
function chunkedRequest(target: string, total: number, extraHeaders = ''): Buffer[] {
  const head = `POST ${target} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${homeKey}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n${extraHeaders}\r\n`;
  const chunks = [Buffer.from(head)];
  const piece = 'x'.repeat(8192);
  chunks.push(Buffer.from(`1\r\n"\r\n`));
  for (let sent = 0; sent < total; sent += piece.length) chunks.push(Buffer.from(`${piece.length.toString(16)}\r\n${piece}\r\n`));
  chunks.push(Buffer.from('1\r\n"\r\n0\r\n\r\n'));
  return chunks;
}

describe('oversized and lying bodies', () => {
  const routes = [
    ['a REST create', `/${HOME}`],
    ['a REST tool call', `/${HOME}/${HOME_CONNECTION}/.tools/echo`],
    ['the MCP endpoint', `/connect/${HOME}/${HOME_CONNECTION}/mcp`],
  ];

  it.each(routes)('answers 413 with JSON to %s whose content-length is over the limit', async (_label, target) => {
    const body = JSON.stringify({ message: 'x'.repeat(MAX_BODY_BYTES * 2) });
    const answer = await send('POST', target, { headers: [json, ['accept', 'application/json, text/event-stream']], body });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'payload_too_large', message: expect.any(String) });
    expect(answer.closed).toBe(true);
  });

  it.each(routes)('answers 413 with JSON to %s with a chunked body that grows over the limit', async (_label, target) => {
    const answer = await exchange(server.port, chunkedRequest(target, MAX_BODY_BYTES * 3, 'accept: application/json, text/event-stream\r\n'), 15_000);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'payload_too_large' });
  });

  it('reads only what a too-small content-length announces, and refuses the rest as a request', async () => {
    // 100 bytes announced, 200 KB sent: the body is cut JSON (400); on a kept-alive socket the
    // remainder is then parsed as the next request, which is not HTTP (400).
    const body = `{"mcpUrl":"${'y'.repeat(200_000)}"}`;
    const head = `POST /${HOME} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${homeKey}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n`;
    const answer = await exchange(server.port, inPieces(Buffer.from(head + body)), 15_000);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'validation_error' });
    await expectServerAnswers();
  });

  it('refuses a content-length over the limit before reading the body', async () => {
    // The body never comes: the answer must not wait for it.
    const head = `POST /${HOME} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${homeKey}\r\ncontent-type: application/json\r\ncontent-length: ${MAX_BODY_BYTES * 100}\r\n\r\n{`;
    const answer = await exchange(server.port, [Buffer.from(head)], 15_000);
    expect(answer.status).toBe(413);
    expect(answer.closed).toBe(true);
  });

  it.each([
    ['REST metadata', 'PUT', `/${HOME}/${HOME_CONNECTION}`, (nested: string) => `{"metadata":{"deep":${nested}}}`, 400],
    ['REST tool arguments', 'POST', `/${HOME}/${HOME_CONNECTION}/.tools/echo`, (nested: string) => `{"message":${nested}}`, 400],
    ['a token policy', 'POST', '/tokens', (nested: string) => `{"policy":[{"rpcReqMatch":${nested}}]}`, 400],
  ])('refuses JSON nested 20,000 deep in %s with 400', async (label, method, target, wrap, status) => {
    const nested = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const answer = await send(method, target, { headers: [json], body: wrap(nested) });
    expectJsonRefusal(answer, [status], label);
    expect(JSON.parse(answer.body).message).toMatch(/nest/);
  });

  it('answers JSON nested 20,000 deep on the MCP endpoint without a 5xx', async () => {
    const nested = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":${nested}}}}`;
    const answer = await send('POST', `/connect/${HOME}/${HOME_CONNECTION}/mcp`, { headers: [json, ['accept', 'application/json, text/event-stream']], body });
    expect(answer.status).toBeLessThan(500);
    await expectServerAnswers();
  });
});

// ------------------------------------------------------------------ slow and many

/** Opens a socket, writes `text`, and leaves it open. */
function stall(text: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1', () => {
      socket.write(text);
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

function answerOf(socket: net.Socket, deadlineMs: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve({ text, closed: false }), deadlineMs);
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
  });
}

describe('slow and stalled requests', () => {
  it('bounds how long a request may take to arrive', () => {
    const http = server.httpServer;
    for (const timeout of [http.headersTimeout, http.requestTimeout]) {
      expect(timeout).toBeGreaterThan(0);
      expect(timeout).toBeLessThanOrEqual(5 * 60_000);
    }
    expect(http.headersTimeout).toBeLessThanOrEqual(http.requestTimeout);
  });

  it('keeps answering while many requests stall mid-headers and mid-body', async () => {
    const stalled = await Promise.all([
      ...Array.from({ length: 40 }, () => stall('GET /health HTTP/1.1\r\nhost: x\r\nx-slow: ')),
      ...Array.from({ length: 40 }, () =>
        stall(`POST /${HOME} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${homeKey}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"mcpUrl":`),
      ),
    ]);
    try {
      const answers = await Promise.all(Array.from({ length: 10 }, () => send('GET', `/${HOME}/${HOME_CONNECTION}`)));
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    } finally {
      for (const socket of stalled) socket.destroy();
    }
    await expectServerAnswers();
  });

  it('cuts a stalled body with a JSON 408 once the request timeout passes', async () => {
    // Shortened on this server only, so the test need not wait the real five minutes.
    const http = server.httpServer;
    const saved = { headers: http.headersTimeout, request: http.requestTimeout };
    http.headersTimeout = 1_000;
    http.requestTimeout = 1_500;
    try {
      const socket = await stall(
        `POST /${HOME} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${homeKey}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"mcpUrl":`,
      );
      const headersOnly = await stall('GET /health HTTP/1.1\r\nhost: x\r\n');
      // Node checks expired requests on an interval: bounded, not immediate.
      const [body, head] = await Promise.all([answerOf(socket, 30_000), answerOf(headersOnly, 30_000)]);
      for (const answer of [body, head]) {
        expect(answer.closed).toBe(true);
        expect(answer.text).toMatch(/^HTTP\/1\.1 408 /);
        expect(answer.text).toContain('"error":"request_timeout"');
      }
    } finally {
      http.headersTimeout = saved.headers;
      http.requestTimeout = saved.request;
    }
    await expectServerAnswers();
  });

  it('survives 300 concurrent malformed requests and still answers', async () => {
    const garbage = [
      'GET /%ZZ/%00 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
      `POST /${HOME} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${homeKey}\r\ncontent-type: application/json\r\ncontent-length: 5\r\nconnection: close\r\n\r\n{"a":`,
      'BREW /coffee HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
      `GET /${HOME}?metadata[__proto__]=1&limit=NaN HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${homeKey}\r\nconnection: close\r\n\r\n`,
      `POST /connect/${HOME}/${HOME_CONNECTION}/mcp HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${homeKey}\r\ncontent-type: application/json\r\ncontent-length: 3\r\nconnection: close\r\n\r\n[1]`,
      'GET / HTTP/1.1\r\n\x00\x01\x02\r\n\r\n',
    ];
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => exchange(server.port, [Buffer.from(garbage[i % garbage.length]!, 'latin1')], 30_000)));
    for (const answer of answers) {
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(answer.headers['content-type']?.[0]).toMatch(/^application\/json/);
    }
    await expectServerAnswers();
  });
});
