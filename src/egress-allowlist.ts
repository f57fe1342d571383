import { BlockList, isIP } from 'node:net';

/*
 * The operator's allowlist of upstream hosts, parsed once with the rest of the configuration
 * (src/config.ts). It is here, beside the config, rather than in core/network/egress-policy.ts
 * (which applies it to every outbound request), because the config is the lowest layer and
 * may import nothing above it.
 */

/** Which ports an allowlist entry opens: all of them (a bare host or range), or those it names. */
export type PortScope = 'every port' | ReadonlySet<number>;

/**
 * The operator's `ALLOWED_UPSTREAM_HOSTS`, parsed. An entry with a port (`host:port`,
 * `[v6]:port`, `range:port`) opens that port alone; an entry without one opens every port of
 * its host — so a tenant may probe them all, which is why the port form is the safe one.
 */
export type EgressAllowlist = Readonly<{
  /** Host names (lowercase, ASCII, no trailing dot), allowed whatever they resolve to, on their ports. */
  hosts: ReadonlyMap<string, PortScope>;
  /** Addresses and ranges allowed on every port although they are not public. */
  addresses: BlockList;
  /** Addresses and ranges allowed on one port only, by port. */
  addressesByPort: ReadonlyMap<number, BlockList>;
  /** The entries as given, for messages and logs. */
  entries: readonly string[];
}>;

export const ALLOWLIST_VARIABLE = 'ALLOWED_UPSTREAM_HOSTS';

/** A host name as URLs spell it: lowercase, punycode, no brackets, no trailing dot. */
export function normalizeHost(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

/**
 * Parses `ALLOWED_UPSTREAM_HOSTS`: a comma list of host names (matched exactly,
 * case-insensitively), IP addresses and CIDR ranges, each optionally followed by `:port`
 * (`mcp.internal:8443`, `127.0.0.1:9000`, `[::1]:9000`, `10.0.0.0/8:443`). An IPv6 address
 * takes a port only in brackets: `::1:9000` is itself an address. Throws a RangeError naming
 * a bad entry.
 */
export function parseEgressAllowlist(list: string): EgressAllowlist {
  const entries = list.split(',').map((entry) => entry.trim()).filter(Boolean);
  const hosts = new Map<string, PortScope>();
  const addresses = new BlockList();
  const addressesByPort = new Map<number, BlockList>();
  const addressListFor = (port: number | undefined) => {
    if (port === undefined) return addresses;
    let listed = addressesByPort.get(port);
    if (!listed) addressesByPort.set(port, (listed = new BlockList()));
    return listed;
  };
  for (const entry of entries) {
    const { target, port } = splitPort(entry);
    const cidr = /^\[?([^\]/]+)\]?\/(\d{1,3})$/.exec(target);
    if (cidr) {
      const family = isIP(cidr[1]!);
      const prefix = Number(cidr[2]);
      if (family === 0 || prefix > (family === 4 ? 32 : 128)) throw new RangeError(`"${entry}" is not a valid CIDR range such as 10.0.0.0/8 or fd00::/8`);
      addressListFor(port).addSubnet(cidr[1]!, prefix, family === 4 ? 'ipv4' : 'ipv6');
      continue;
    }
    if (target.includes('*')) throw new RangeError(`"${entry}": wildcards are not supported, list each host name`);
    const bare = target.replace(/^\[(.*)\]$/, '$1');
    if (isIP(bare)) {
      addressListFor(port).addAddress(bare, isIP(bare) === 4 ? 'ipv4' : 'ipv6');
      continue;
    }
    const host = canonicalHost(bare);
    if (!host) throw new RangeError(`"${entry}" is not a host name, IP address or CIDR range, optionally with :port`);
    // WHATWG URLs read "2130706433" or "127.1" as IPv4 addresses: so does the allowlist.
    if (isIP(host)) addressListFor(port).addAddress(host, 'ipv4');
    else hosts.set(host, widenPorts(hosts.get(host), port));
  }
  return Object.freeze({ hosts, addresses, addressesByPort, entries: Object.freeze(entries) });
}

/**
 * An entry's trailing `:port`, if it has one. A colon ends a host name, an IPv4 address, a
 * bracketed IPv6 address or a CIDR range; an unbracketed IPv6 address is all colons, so it has none.
 */
function splitPort(entry: string): { target: string; port?: number } {
  const match = /^(.*(?:\]|\/\d{1,3}|^[^:]+)):(\d*)$/.exec(entry);
  if (!match) return { target: entry };
  const port = /^\d{1,5}$/.test(match[2]!) ? Number(match[2]) : 0;
  if (port < 1 || port > 65535) throw new RangeError(`"${entry}": the port must be a number from 1 to 65535`);
  return { target: match[1]!, port };
}

function widenPorts(scope: PortScope | undefined, port: number | undefined): PortScope {
  if (port === undefined || scope === 'every port') return 'every port';
  return new Set([...(scope ?? []), port]);
}

function canonicalHost(entry: string): string | undefined {
  if (!/^[^\s/?#@:\\[\]]+$/.test(entry)) return undefined;
  try {
    const host = normalizeHost(new URL(`http://${entry}/`).hostname);
    return host && !host.startsWith('.') ? host : undefined;
  } catch {
    return undefined;
  }
}
