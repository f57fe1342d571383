import { BlockList, isIP, isIPv4 } from 'node:net';
import { ALLOWLIST_VARIABLE, normalizeHost, type EgressAllowlist } from '../../egress-allowlist.ts';

/**
 * Where Switchboard may send requests on a user's behalf (upstream MCP servers, their OAuth
 * servers): public unicast addresses only, unless the operator's allowlist opens a host, an
 * address or a range. Anything else — loopback, private networks, link-local (cloud metadata
 * at 169.254.169.254), multicast, reserved space — is refused, so a connection URL cannot be
 * used to probe or call the network Switchboard runs in (SSRF).
 */
export type AddressKind =
  | 'public'
  | 'loopback'
  | 'unspecified'
  | 'private'
  | 'carrier-grade NAT'
  | 'link-local'
  | 'unique-local'
  | 'multicast'
  | 'broadcast'
  | 'benchmarking'
  | 'documentation'
  | 'reserved';

type Range = readonly [network: string, prefix: number, kind: Exclude<AddressKind, 'public'>];

// Most specific first: the first range that holds an address names its kind.
const IPV4_RANGES: readonly Range[] = [
  ['255.255.255.255', 32, 'broadcast'],
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

// IPv6 forms that carry an IPv4 address (mapped, translated, NAT64, 6to4) are judged by that
// address before these ranges apply; see embeddedIPv4.
const IPV6_RANGES: readonly Range[] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['64:ff9b:1::', 48, 'private'],
  ['100::', 64, 'reserved'],
  // IETF protocol assignments, Teredo among them (its IPv4 address is obfuscated, so unjudgeable).
  ['2001::', 23, 'reserved'],
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'],
  ['ff00::', 8, 'multicast'],
];

function blockListOf(ranges: readonly Range[], family: 'ipv4' | 'ipv6'): [BlockList, Range[2]][] {
  return ranges.map(([network, prefix, kind]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, family);
    return [list, kind];
  });
}

const ipv4Kinds = blockListOf(IPV4_RANGES, 'ipv4');
const ipv6Kinds = blockListOf(IPV6_RANGES, 'ipv6');
/** Global unicast: the only IPv6 space the public internet routes. */
const globalUnicast = new BlockList();
globalUnicast.addSubnet('2000::', 3, 'ipv6');

/** What kind of address `address` is (an IPv4 or IPv6 literal, without brackets). */
export function classifyAddress(address: string): AddressKind {
  const ip = address.replace(/%.*$/, '');
  if (isIPv4(ip)) return ipv4Kinds.find(([list]) => list.check(ip, 'ipv4'))?.[1] ?? 'public';
  if (isIP(ip) !== 6) return 'reserved';
  const embedded = embeddedIPv4(ip);
  if (embedded) {
    const kind = classifyAddress(embedded.address);
    // The deprecated IPv4-compatible form has no legitimate use, even with a public address.
    return kind === 'public' && embedded.form === 'compatible' ? 'reserved' : kind;
  }
  const kind = ipv6Kinds.find(([list]) => list.check(ip, 'ipv6'))?.[1];
  if (kind) return kind;
  return globalUnicast.check(ip, 'ipv6') ? 'public' : 'reserved';
}

type Embedded = { address: string; form: 'mapped' | 'translated' | 'compatible' | 'nat64' | '6to4' };

/** The IPv4 address an IPv6 address stands for, in the forms that reach IPv4 hosts. */
export function embeddedIPv4(ipv6: string): Embedded | undefined {
  const bytes = ipv6Bytes(ipv6);
  if (!bytes) return undefined;
  const word = (i: number) => (bytes[i]! << 8) | bytes[i + 1]!;
  const zero = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  const v4 = (at: number) => Array.from(bytes.slice(at, at + 4)).join('.');
  if (zero(0, 10) && word(10) === 0xffff) return { address: v4(12), form: 'mapped' };
  if (zero(0, 8) && word(8) === 0xffff && word(10) === 0) return { address: v4(12), form: 'translated' };
  // ::/96 other than :: and ::1 themselves (which have their own kinds).
  if (zero(0, 12) && !zero(12, 15)) return { address: v4(12), form: 'compatible' };
  if (word(0) === 0x64 && word(2) === 0xff9b && zero(4, 12)) return { address: v4(12), form: 'nat64' };
  if (word(0) === 0x2002) return { address: v4(2), form: '6to4' };
  return undefined;
}

/** The 16 bytes of a valid IPv6 literal (dotted IPv4 tail and zone id allowed). */
function ipv6Bytes(address: string): Uint8Array | undefined {
  let text = address.replace(/%.*$/, '').toLowerCase();
  if (isIP(text) !== 6) return undefined;
  // A dotted IPv4 tail becomes the two hex groups it stands for.
  text = text.replace(/:(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a: string, b: string, c: string, d: string) =>
    `:${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`,
  );
  const [head = '', rest] = text.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  const words = [...left, ...Array<number>(Math.max(fill, 0)).fill(0), ...right];
  if (words.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

/** Whether the allowlist names this host (lowercase, as normalizeHost spells it) for this port. */
function allowsHostName(allowlist: EgressAllowlist, host: string, port: number): boolean {
  const scope = allowlist.hosts.get(host);
  return scope === 'every port' || (scope !== undefined && scope.has(port));
}

/** Whether the allowlist opens this address (an IP literal, no zone) on this port. */
function allowsListedAddress(allowlist: EgressAllowlist, ip: string, family: 'ipv4' | 'ipv6', port: number): boolean {
  return allowlist.addresses.check(ip, family) || (allowlist.addressesByPort.get(port)?.check(ip, family) ?? false);
}

/** The port a URL reaches: its own, or its scheme's default. */
export function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

export type EgressVerdict = { allowed: true } | { allowed: false; kind: Exclude<AddressKind, 'public'> };

/** Whether one address may be reached on `port`: public, or opened there by the allowlist. */
export function checkAddress(address: string, port: number, allowlist: EgressAllowlist): EgressVerdict {
  const ip = address.replace(/%.*$/, '');
  const kind = classifyAddress(ip);
  if (kind === 'public') return { allowed: true };
  const family = isIP(ip) === 4 ? 'ipv4' : 'ipv6';
  if (allowsListedAddress(allowlist, ip, family, port)) return { allowed: true };
  // An allowlisted IPv4 address also opens the IPv6 forms that stand for it (::ffff:127.0.0.1).
  const embedded = family === 'ipv6' ? embeddedIPv4(ip) : undefined;
  if (embedded && embedded.form !== 'compatible' && allowsListedAddress(allowlist, embedded.address, 'ipv4', port)) return { allowed: true };
  return { allowed: false, kind };
}

/**
 * After DNS: a host the allowlist names (for this port) is allowed whatever it resolves to;
 * otherwise every address must be allowed on the port (a name with one private address among
 * public ones is refused, as the connection could land on any of them).
 */
export function checkResolvedHost(hostname: string, port: number, addresses: readonly string[], allowlist: EgressAllowlist): EgressVerdict {
  if (allowsHostName(allowlist, normalizeHost(hostname), port)) return { allowed: true };
  for (const address of addresses) {
    const verdict = checkAddress(address, port, allowlist);
    if (!verdict.allowed) return verdict;
  }
  return { allowed: true };
}

/**
 * What can be judged from a URL alone, before any DNS lookup: its scheme, an IP-literal host,
 * and `localhost` (RFC 6761 names that always mean this machine), on the URL's port. Other
 * names pass here and are checked when they are resolved.
 */
export function checkUrlTarget(url: URL, allowlist: EgressAllowlist): EgressVerdict | { allowed: false; kind: 'scheme' } {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { allowed: false, kind: 'scheme' };
  const host = normalizeHost(url.hostname);
  const port = portOf(url);
  if (allowsHostName(allowlist, host, port)) return { allowed: true };
  if (isIP(host)) return checkAddress(host, port, allowlist);
  if (host === 'localhost' || host.endsWith('.localhost')) return { allowed: false, kind: 'loopback' };
  return { allowed: true };
}

/**
 * Raised when a request would reach a refused address. Its message names the host only, and
 * for a host name reads as a name that does not resolve: which internal names exist is nobody
 * else's business. `detail` says exactly why, for the operator's log.
 */
export class EgressBlockedError extends Error {
  override name = 'EgressBlockedError';
  readonly code = 'ERR_EGRESS_BLOCKED';
  constructor(
    readonly hostname: string,
    readonly kind: Exclude<AddressKind, 'public'>,
  ) {
    super(blockedMessage(hostname, kind));
  }

  get detail(): string {
    const host = normalizeHost(this.hostname);
    return isIP(host) ? this.message : `upstream host ${host} resolves to a blocked (${this.kind}) address`;
  }
}

/**
 * An IP literal says what it is (it reveals nothing about DNS); a name does not: the same
 * words as a name that does not resolve (unreachableHostMessage).
 */
export function blockedMessage(hostname: string, kind: Exclude<AddressKind, 'public'>): string {
  const host = normalizeHost(hostname);
  if (!isIP(host)) return unreachableHostMessage(host);
  return `upstream address ${host} is a blocked (${kind}) address; set ${ALLOWLIST_VARIABLE} to allow it`;
}

/**
 * One answer for a name that does not resolve and a name that resolves where requests may not
 * go. Were they told apart, a tenant could map the internal names of the network Switchboard
 * runs in by creating connections (issue 15): messages may differ only for allowed targets.
 */
export function unreachableHostMessage(hostname: string, subject = 'upstream host'): string {
  return `${subject} ${normalizeHost(hostname)} could not be reached (not found, or not an allowed address; see ${ALLOWLIST_VARIABLE})`;
}
