import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import {
  checkAddress,
  checkResolvedHost,
  checkUrlTarget,
  classifyAddress,
  EgressBlockedError,
  type AddressKind,
} from '../../src/core/network/egress-policy.ts';
import { parseEgressAllowlist } from '../../src/egress-allowlist.ts';
import { createEgress, createGuardedConnector, type Egress } from '../../src/core/network/guarded-dispatcher.ts';
import { describeOAuthError } from '../../src/core/oauth/authorization-flow.ts';
import { describeUpstreamFailure } from '../../src/core/upstream/upstream-failure.ts';

/**
 * The egress policy that keeps user-supplied URLs (upstream MCP servers, their OAuth servers)
 * off the network Switchboard runs in: how addresses are classified, how the operator's
 * allowlist opens hosts and ranges, and the guard itself on real loopback sockets (DNS
 * resolution through /etc/hosts, IP literals, redirects, undici pools).
 */

const none = parseEgressAllowlist('');

describe('classifyAddress', () => {
  it.each<[string, AddressKind]>([
    // IPv4
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['192.0.0.170', 'reserved'],
    ['192.0.2.10', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['224.0.0.251', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.1', 'public'],
    ['100.63.255.255', 'public'],
    ['100.128.0.1', 'public'],
    ['198.20.0.1', 'public'],
    ['169.253.255.255', 'public'],
    // IPv6
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['ff05::1:3', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['100::1', 'reserved'],
    ['2001::1', 'reserved'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'],
    ['64:ff9b:1::1', 'private'],
    ['1::', 'reserved'],
    ['4000::1', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4001:80b::200e', 'public'],
    // IPv6 forms that carry an IPv4 address are judged by it
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:0001', 'loopback'],
    ['::FFFF:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['::8.8.8.8', 'reserved'],
    ['::10.0.0.1', 'private'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['64:ff9b::192.168.0.1', 'private'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:a9fe:a9fe::1', 'link-local'],
    ['2002:c0a8:101::1', 'private'],
    ['2002:808:808::1', 'public'],
    // not an address at all
    ['example.com', 'reserved'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });
});

describe('checkUrlTarget with an empty allowlist', () => {
  it.each([
    ['http://127.0.0.1:8080/mcp', 'loopback'],
    ['http://[::1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://169.254.169.254/latest/meta-data', 'link-local'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://0/', 'unspecified'],
    // WHATWG URLs normalise these spellings of 127.0.0.1; the check sees the address.
    ['http://2130706433/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://017700000001/', 'loopback'],
    ['http://0x7f.0.0.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://0251.0376.0251.0376/', 'link-local'],
    ['http://localhost:3000/mcp', 'loopback'],
    ['http://LOCALHOST/', 'loopback'],
    ['http://localhost./', 'loopback'],
    ['http://api.localhost/', 'loopback'],
    ['http://[fd00::1]/', 'unique-local'],
    ['http://10.0.0.1/', 'private'],
    ['file:///etc/passwd', 'scheme'],
    ['gopher://127.0.0.1:70/', 'scheme'],
    ['ftp://example.com/', 'scheme'],
  ])('%s is refused (%s)', (url, kind) => {
    expect(checkUrlTarget(new URL(url), none)).toEqual({ allowed: false, kind });
  });

  it.each(['https://mcp.example.com/mcp', 'http://8.8.8.8/', 'http://[2606:4700:4700::1111]/', 'http://localhost.example.com/'])(
    '%s passes (names are checked again after DNS)',
    (url) => {
      expect(checkUrlTarget(new URL(url), none)).toEqual({ allowed: true });
    },
  );
});

describe('ALLOWED_UPSTREAM_HOSTS', () => {
  const allowlist = parseEgressAllowlist(' Internal.Example.COM. , localhost, 10.1.2.3, 192.168.0.0/16, fd00::/8, [::1], 2130706433 ');

  it.each([
    ['internal.example.com', ['10.9.9.9'], true],
    ['INTERNAL.example.com', ['127.0.0.1'], true],
    ['localhost', ['127.0.0.1', '::1'], true],
    ['other.example.com', ['10.1.2.3'], true],
    ['other.example.com', ['10.1.2.4'], false],
    ['other.example.com', ['192.168.44.1'], true],
    ['other.example.com', ['fd00::5'], true],
    ['other.example.com', ['::1'], true],
    // 2130706433 is how a URL spells 127.0.0.1
    ['other.example.com', ['127.0.0.1'], true],
    ['other.example.com', ['127.0.0.2'], false],
    ['other.example.com', ['8.8.8.8'], true],
    // one refused address among allowed ones refuses the name
    ['other.example.com', ['8.8.8.8', '169.254.169.254'], false],
    ['sub.internal.example.com', ['10.9.9.9'], false],
  ])('%s resolving to %j: allowed %s', (host, addresses, allowed) => {
    expect(checkResolvedHost(host, 443, addresses, allowlist).allowed).toBe(allowed);
  });

  it('an allowlisted IPv4 address also opens its IPv4-mapped IPv6 form, not its neighbours', () => {
    expect(checkAddress('::ffff:10.1.2.3', 80, allowlist).allowed).toBe(true);
    expect(checkAddress('::ffff:10.1.2.4', 80, allowlist).allowed).toBe(false);
  });

  it('is empty by default: nothing but public addresses', () => {
    const config = loadConfig({});
    expect(config.allowedUpstreamHosts.entries).toEqual([]);
    expect(checkAddress('127.0.0.1', 80, config.allowedUpstreamHosts).allowed).toBe(false);
  });

  it.each([
    '*.example.com',
    'http://example.com',
    '10.0.0.0/33',
    'fd00::/129',
    'not a host',
    'a@b',
    '1.2.3.4/x',
    'example.com:',
    'example.com:0',
    'example.com:65536',
    'example.com:http',
    '127.0.0.1:80:80',
    '[::1]:',
    '[fd00::/8]:443',
  ])(
    'refuses the entry %j naming the variable',
    (entry) => {
      expect(() => parseEgressAllowlist(entry)).toThrow(RangeError);
      expect(() => loadConfig({ ALLOWED_UPSTREAM_HOSTS: `localhost,${entry}` })).toThrow(ConfigError);
      expect(() => loadConfig({ ALLOWED_UPSTREAM_HOSTS: `localhost,${entry}` })).toThrow(/ALLOWED_UPSTREAM_HOSTS:/);
    },
  );
});

describe('ALLOWED_UPSTREAM_HOSTS entries with a port', () => {
  const allowlist = parseEgressAllowlist('mcp.internal:8443, 127.0.0.1:9000, [::1]:9001, 10.0.0.0/8:443, [fd00::]/8:8080, fc00::/8:7000, ::1:9002, both.internal, both.internal:1');

  it.each([
    // host names: that port alone, and the scheme's default port counts as given
    ['http://mcp.internal:8443/mcp', true],
    ['https://mcp.internal:8443/mcp', true],
    ['http://mcp.internal:8444/mcp', 'names are judged after DNS'],
    ['http://127.0.0.1:9000/mcp', true],
    ['http://127.0.0.1:9001/mcp', false],
    ['http://127.0.0.1/mcp', false],
    ['http://[::ffff:127.0.0.1]:9000/', true],
    ['http://[::ffff:127.0.0.1]:5432/', false],
    ['http://[::1]:9001/', true],
    ['http://[::1]:9000/', false],
    ['https://10.2.3.4/', true],
    ['http://10.2.3.4/', false],
    ['http://10.2.3.4:443/', true],
    ['http://[fd12::1]:8080/', true],
    ['http://[fd12::1]:8081/', false],
    ['http://[fc00::1]:7000/', true],
    ['http://[fc00::1]:7001/', false],
    // without brackets, ::1:9002 is an IPv6 address (all ports), not ::1 on port 9002
    ['http://[::1:9002]:22/', true],
    ['http://[::1]:9002/', false],
  ])('%s: allowed %s', (url, allowed) => {
    const verdict = checkUrlTarget(new URL(url), allowlist);
    if (allowed === 'names are judged after DNS') expect(verdict.allowed).toBe(true);
    else expect(verdict.allowed).toBe(allowed);
  });

  it.each([
    ['mcp.internal', 8443, ['10.9.9.9'], true],
    ['MCP.internal.', 8443, ['127.0.0.1'], true],
    ['mcp.internal', 8444, ['10.9.9.9'], false],
    ['mcp.internal', 443, ['8.8.8.8'], true],
    // a name outside the list resolving to an address allowed on one port
    ['db.example.com', 9000, ['127.0.0.1'], true],
    ['db.example.com', 5432, ['127.0.0.1'], false],
    // a bare entry opens every port, whatever else names the host with a port
    ['both.internal', 5432, ['10.0.0.9'], true],
  ])('%s on port %i resolving to %j: allowed %s', (host, port, addresses, allowed) => {
    expect(checkResolvedHost(host, port, addresses, allowlist).allowed).toBe(allowed);
  });

  it('a bare entry still opens every port of its host (as before ports existed)', () => {
    const bare = parseEgressAllowlist('127.0.0.1, internal.example.com');
    for (const port of [1, 22, 5432, 65535]) {
      expect(checkAddress('127.0.0.1', port, bare).allowed).toBe(true);
      expect(checkResolvedHost('internal.example.com', port, ['10.0.0.1'], bare).allowed).toBe(true);
    }
  });

  it('public addresses are reached on every port, whatever the allowlist says', () => {
    expect(checkAddress('8.8.8.8', 5432, allowlist).allowed).toBe(true);
  });
});

describe('the guard on real sockets', () => {
  let target: http.Server;
  let port: number;
  /** Another live server on 127.0.0.1, on a port no allowlist below names. */
  let other: http.Server;
  let otherPort: number;
  /** Requests that reached the target or the other server, by path. */
  const hits: string[] = [];
  const egresses: Egress[] = [];

  function egress(list: string): Egress {
    const created = createEgress(parseEgressAllowlist(list));
    egresses.push(created);
    return created;
  }

  beforeAll(async () => {
    target = http.createServer((req, res) => {
      hits.push(`${req.headers.host} ${req.url}`);
      if (req.url === '/redirect') {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/landing` }).end();
      } else if (req.url === '/redirect-to-other-port') {
        res.writeHead(302, { location: `http://127.0.0.1:${otherPort}/other-landing` }).end();
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('reached');
      }
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    port = (target.address() as AddressInfo).port;
    other = http.createServer((req, res) => {
      hits.push(`${req.headers.host} ${req.url}`);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('other');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    otherPort = (other.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await Promise.all(egresses.map((e) => e.close()));
    await new Promise((resolve) => target?.close(resolve));
    await new Promise((resolve) => other?.close(resolve));
  });

  async function refusal(work: Promise<unknown>): Promise<EgressBlockedError> {
    const error = await work.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(EgressBlockedError);
    return error as EgressBlockedError;
  }

  it.each([
    ['localhost', 'upstream host localhost could not be reached (not found, or not an allowed address; see ALLOWED_UPSTREAM_HOSTS)'],
    ['127.0.0.1', 'upstream address 127.0.0.1 is a blocked (loopback) address; set ALLOWED_UPSTREAM_HOSTS to allow it'],
    ['[::ffff:127.0.0.1]', 'upstream address ::ffff:7f00:1 is a blocked (loopback) address; set ALLOWED_UPSTREAM_HOSTS to allow it'],
  ])('with no allowlist, fetch to %s is refused before connecting', async (host, message) => {
    const before = hits.length;
    const error = await refusal(egress('').fetch(`http://${host}:${port}/secret?token=abc`));
    expect(error.message).toBe(message);
    expect(hits.length).toBe(before);
  });

  it('an allowlisted name is reached; its redirect to a refused address is not followed there', async () => {
    const guarded = egress('localhost');
    const reached = await guarded.fetch(`http://localhost:${port}/direct`);
    // The MCP SDK tells responses apart with instanceof: it must be Node's global Response.
    expect(reached).toBeInstanceOf(Response);
    expect(reached.url).toBe(`http://localhost:${port}/direct`);
    expect(await reached.text()).toBe('reached');
    const error = await refusal(guarded.fetch(`http://localhost:${port}/redirect`));
    expect(error.message).toMatch(/127\.0\.0\.1 is a blocked \(loopback\) address/);
    expect(hits).toContain(`localhost:${port} /redirect`);
    expect(hits.some((hit) => hit.endsWith('/landing'))).toBe(false);
  });

  it('with the address allowlisted too, the same redirect is followed (the refusal above was the guard)', async () => {
    const response = await egress('localhost, 127.0.0.0/8').fetch(`http://localhost:${port}/redirect`);
    expect(await response.text()).toBe('reached');
    expect(hits).toContain(`127.0.0.1:${port} /landing`);
  });

  it('an address allowed on one port reaches that port alone: another live port, and a redirect to it, are refused before connecting', async () => {
    const onePort = egress(`127.0.0.1:${port}`);
    expect(await (await onePort.fetch(`http://127.0.0.1:${port}/one-port`)).text()).toBe('reached');
    const direct = await refusal(onePort.fetch(`http://127.0.0.1:${otherPort}/other-direct`));
    expect(direct.message).toBe('upstream address 127.0.0.1 is a blocked (loopback) address; set ALLOWED_UPSTREAM_HOSTS to allow it');
    await refusal(onePort.fetch(`http://127.0.0.1:${port}/redirect-to-other-port`));
    expect(hits).toContain(`127.0.0.1:${port} /redirect-to-other-port`);
    // The same, by a name that resolves to the address (the check after DNS knows the port too).
    await refusal(egress(`127.0.0.1:${port}`).fetch(`http://localhost:${otherPort}/other-by-name`));
    await refusal(egress(`localhost:${port}`).fetch(`http://localhost:${otherPort}/other-by-allowed-name`));
    expect(await (await egress(`localhost:${port}`).fetch(`http://localhost:${port}/by-name`)).text()).toBe('reached');
    expect(hits.filter((hit) => hit.includes('/other'))).toEqual([]);
    // Positive control: with the other port listed too, the same redirect lands there.
    expect(await (await egress(`127.0.0.1:${port}, 127.0.0.1:${otherPort}`).fetch(`http://127.0.0.1:${port}/redirect-to-other-port`)).text()).toBe('other');
    expect(hits).toContain(`127.0.0.1:${otherPort} /other-landing`);
  });

  it('guards undici pools too (the forwarding path), on IP literals and names alike', async () => {
    const connect = createGuardedConnector(none);
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const pool = new Pool(origin, { connect });
      try {
        await refusal(pool.request({ path: '/pooled', method: 'GET' }));
      } finally {
        await pool.destroy();
      }
    }
    expect(hits.some((hit) => hit.endsWith('/pooled'))).toBe(false);
    const otherPortOnly = new Pool(`http://127.0.0.1:${port}`, { connect: createGuardedConnector(parseEgressAllowlist(`127.0.0.1:${otherPort}`)) });
    try {
      await refusal(otherPortOnly.request({ path: '/pooled', method: 'GET' }));
    } finally {
      await otherPortOnly.destroy();
    }
    expect(hits.some((hit) => hit.endsWith('/pooled'))).toBe(false);
    const allowed = new Pool(`http://127.0.0.1:${port}`, { connect: createGuardedConnector(parseEgressAllowlist(`127.0.0.1:${port}`)) });
    try {
      const { statusCode, body } = await allowed.request({ path: '/pooled', method: 'GET' });
      expect(statusCode).toBe(200);
      await body.text();
    } finally {
      await allowed.destroy();
    }
  });
});

describe('a refused name reads as a name that does not resolve', () => {
  /** What undici's fetch throws for each: TypeError("fetch failed") around the lookup's error. */
  const refusedByName = new TypeError('fetch failed', { cause: new EgressBlockedError('db.internal', 'private') });
  const notFound = new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND db.internal'), { code: 'ENOTFOUND', hostname: 'db.internal' }) });
  const url = new URL('http://db.internal/mcp');

  it('in upstream failures (connection status, REST and MCP errors) and OAuth discovery errors alike', () => {
    const expected = 'upstream host db.internal could not be reached (not found, or not an allowed address; see ALLOWED_UPSTREAM_HOSTS)';
    expect(describeUpstreamFailure(refusedByName, url, 1000)).toEqual({ kind: 'failed', message: expected });
    expect(describeUpstreamFailure(notFound, url, 1000)).toEqual({ kind: 'failed', message: expected });
    expect(describeOAuthError(refusedByName)).toBe(expected);
    expect(describeOAuthError(notFound)).toBe(expected);
  });

  it('an IP literal still says what it is (it tells nothing about DNS); the precise reason of a name is kept for the log', () => {
    expect(new EgressBlockedError('10.0.0.1', 'private').message).toBe('upstream address 10.0.0.1 is a blocked (private) address; set ALLOWED_UPSTREAM_HOSTS to allow it');
    expect(new EgressBlockedError('db.internal', 'private').detail).toBe('upstream host db.internal resolves to a blocked (private) address');
  });
});
