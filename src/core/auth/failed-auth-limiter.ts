import net from 'node:net';

/**
 * Failed authentications per client address, in fixed windows, in this process's memory: a
 * first line against guessing floods, per replica (N replicas let an address fail N times the
 * limit). An address over its limit is refused before any credential is looked up, so a
 * flood of random keys costs no database query.
 */
export type FailedAuthLimiter = {
  /** Milliseconds until the address may try again, or 0 while it is under its limit. */
  blockedForMs(client: string): number;
  recordFailure(client: string): void;
};

type Window = { failures: number; endsAt: number };

/** Beyond this many addresses the oldest windows go first (about 100 bytes each). */
const DEFAULT_MAX_ADDRESSES = 50_000;

export function createFailedAuthLimiter(options: {
  perWindow: number;
  windowMs: number;
  maxAddresses?: number;
  now?: () => number;
}): FailedAuthLimiter {
  const now = options.now ?? Date.now;
  const maxAddresses = options.maxAddresses ?? DEFAULT_MAX_ADDRESSES;
  // Every window has the same length and is (re)inserted when it starts, so insertion order is
  // the order windows end: expired ones are always at the front, and the oldest goes first.
  const windows = new Map<string, Window>();

  function dropEnded(at: number): void {
    for (const [client, window] of windows) {
      if (window.endsAt > at) return;
      windows.delete(client);
    }
  }

  return {
    blockedForMs(client) {
      const at = now();
      const window = windows.get(client);
      if (!window || window.endsAt <= at || window.failures < options.perWindow) return 0;
      return window.endsAt - at;
    },
    recordFailure(client) {
      const at = now();
      dropEnded(at);
      const window = windows.get(client);
      if (window && window.endsAt > at) {
        window.failures++;
        return;
      }
      windows.delete(client);
      if (windows.size >= maxAddresses) windows.delete(windows.keys().next().value!);
      windows.set(client, { failures: 1, endsAt: at + options.windowMs });
    },
  };
}

/**
 * The key an address is limited under: an IPv4 address as is, an IPv6 address by its /64
 * (one subscriber usually holds a whole /64, and would otherwise have 2^64 fresh budgets).
 */
export function clientGroup(address: string): string {
  const plain = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  if (mapped) return mapped[1]!;
  if (net.isIPv6(plain)) return `${expandIPv6(plain).slice(0, 4).join(':')}::/64`;
  return plain;
}

/** The eight hextets of a valid IPv6 address, `::` and an IPv4 tail expanded. */
function expandIPv6(address: string): string[] {
  let text = address.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((hextet) => Number.parseInt(hextet, 16).toString(16));
}
