import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import { clientGroup } from '../core/auth/failed-auth-limiter.ts';

/**
 * The address failed authentications are counted under: the socket's peer, or, behind
 * `trustProxyHops` reverse proxies, the X-Forwarded-For entry the outermost trusted one added.
 * Entries further left are the client's own say and are never trusted (anyone can send them).
 */
export function clientAddressOf(req: Pick<IncomingMessage, 'headers' | 'socket'>, trustProxyHops: number): string | undefined {
  let address = req.socket.remoteAddress;
  if (trustProxyHops > 0 && address !== undefined) {
    const header = req.headers['x-forwarded-for'];
    const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((entry) => entry.trim()).filter(Boolean);
    // Each trusted proxy appended the address it saw; the last `hops` entries are theirs to vouch for.
    const vouched = forwarded.slice(-trustProxyHops);
    const client = vouched[0];
    if (client !== undefined && net.isIP(client) !== 0) address = client;
  }
  return address === undefined ? undefined : clientGroup(address);
}
