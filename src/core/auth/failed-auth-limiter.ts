import net from 'node:net';

/**
 * Failed authentications per client address, in fixed windows, in this process's memory: a
 * first line against guessing floods, per replica (N replicas let an address fail N times the
 * limit). An address over its limit is refused before any credential is looked up, so a
 * flood of random keys costs no database query.
 *
 * IPv6 is counted twice: by /64 (the address's group, at the limit) and by its /48 (at
 * WIDER_ALLOWANCE times the limit), since one site is typically given a /48 and could
 * otherwise rotate through 65,536 fresh /64 budgets.
 */
export type FailedAuthLimiter = {
  /** Milliseconds until the address may try again, or 0 while it is under its limit. */
  blockedForMs(client: string): number;
  recordFailure(client: string): void;
};

type Window = { failures: number; endsAt: number };

/** Beyond this many windows the table stops growing (about 100 bytes each); see recordFailure. */
const DEFAULT_MAX_ADDRESSES = 50_000;
/** How many times the per-address limit a /48, and the addresses the full table cannot hold together, may fail. */
export const WIDER_ALLOWANCE = 8;

export function createFailedAuthLimiter(options: {
  perWindow: number;
  windowMs: number;
  maxAddresses?: number;
  now?: () => number;
}): FailedAuthLimiter {
  const now = options.now ?? Date.now;
  const maxAddresses = options.maxAddresses ?? DEFAULT_MAX_ADDRESSES;
  const widerLimit = options.perWindow * WIDER_ALLOWANCE;
  // Windows under their limit, in the order they started (so the order they end), and windows
  // at their limit, in the order they got there (ends within one window of that order).
  const counting = new Map<string, Window>();
  const blocked = new Map<string, Window>();
  /** Shared by the failures the full table could not give a window of their own. */
  let overflow: Window | undefined;

  function dropEnded(windows: Map<string, Window>, at: number): void {
    for (const [key, window] of windows) {
      if (window.endsAt > at) return;
      windows.delete(key);
    }
  }

  function liveWindow(key: string, at: number): Window | undefined {
    const window = counting.get(key) ?? blocked.get(key);
    return window && window.endsAt > at ? window : undefined;
  }

  function blockedMs(window: Window | undefined, limit: number, at: number): number {
    return window && window.endsAt > at && window.failures >= limit ? window.endsAt - at : 0;
  }

  /**
   * Counts one failure in the key's window; false when the table is full and holds only
   * windows at their limit. When full, the oldest window still under its limit makes room.
   * Never a window at its limit: dropping those would let an address reset its own count by
   * failing from many others. Nor is a newcomer refused outright: that would let one flood
   * lock out every address it has not used; the failures that find no room share one
   * overflow window instead, WIDER_ALLOWANCE times the limit, and a client with a warm key
   * or a service token passes even while that is exhausted (see authenticate.ts).
   */
  function count(key: string, limit: number, at: number): boolean {
    const window = liveWindow(key, at);
    if (window) {
      window.failures++;
      if (window.failures >= limit && counting.delete(key)) blocked.set(key, window);
      return true;
    }
    counting.delete(key);
    blocked.delete(key);
    if (counting.size + blocked.size >= maxAddresses) {
      const oldest = counting.keys().next();
      if (oldest.done) return false;
      counting.delete(oldest.value);
    }
    const fresh = { failures: 1, endsAt: at + options.windowMs };
    (fresh.failures >= limit ? blocked : counting).set(key, fresh);
    return true;
  }

  return {
    blockedForMs(client) {
      const at = now();
      const wider = enclosingNetwork(client);
      let ms = Math.max(blockedMs(liveWindow(client, at), options.perWindow, at), wider ? blockedMs(liveWindow(wider, at), widerLimit, at) : 0);
      if (!liveWindow(client, at)) ms = Math.max(ms, blockedMs(overflow, widerLimit, at));
      return ms;
    },
    recordFailure(client) {
      const at = now();
      dropEnded(counting, at);
      dropEnded(blocked, at);
      const wider = enclosingNetwork(client);
      const tracked = count(client, options.perWindow, at);
      const widerTracked = wider === undefined || count(wider, widerLimit, at);
      if (tracked && widerTracked) return;
      if (!overflow || overflow.endsAt <= at) overflow = { failures: 0, endsAt: at + options.windowMs };
      overflow.failures++;
    },
  };
}

/** The /48 an IPv6 /64 group lies in (as clientGroup spells groups); undefined for IPv4. */
export function enclosingNetwork(group: string): string | undefined {
  const match = /^([0-9a-f]+:[0-9a-f]+:[0-9a-f]+):[0-9a-f]+::\/64$/.exec(group);
  return match ? `${match[1]}::/48` : undefined;
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
