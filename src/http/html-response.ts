import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../errors.ts';
import { SETUP_PAGE_CSP } from './setup-html.ts';

/**
 * What every HTML page sends (setup, OAuth, the API reference): no framing (clickjacking),
 * no sniffing, no Referer (page addresses are credentials), no caching, and a CSP: by
 * default the pages' own, which allows nothing but their one stylesheet.
 */
export function strictPageHeaders(csp: string = SETUP_PAGE_CSP): Record<string, string> {
  return {
    'content-security-policy': csp,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  };
}

export function sendHtml(res: ServerResponse, status: number, html: string, csp?: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(html));
  for (const [name, value] of Object.entries(strictPageHeaders(csp))) res.setHeader(name, value);
  res.end(html);
}

/** A redirect that leaves nothing behind: not cached, no Referer for where it leads. */
export function redirectPrivately(res: ServerResponse, status: 302 | 303, location: string): void {
  res.statusCode = status;
  res.setHeader('location', location);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('referrer-policy', 'no-referrer');
  res.end();
}

/**
 * A page's form posts same-origin. Fetch metadata and Origin tell a post from another site
 * (the per-page token is the main defence; this refuses before reading anything). The pages'
 * no-referrer policy makes browsers send `Origin: null` for their own posts.
 */
export function refuseCrossSitePost(req: IncomingMessage, publicUrl: string, message: string): void {
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  const crossSite = (site !== undefined && site !== 'same-origin') || (origin !== undefined && origin !== 'null' && origin !== new URL(publicUrl).origin);
  if (crossSite) throw new AppError('forbidden', message);
}
