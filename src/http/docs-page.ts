import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { AppError } from '../errors.ts';
import { strictPageHeaders } from './html-response.ts';
import { sendError } from '../wire/respond.ts';

/**
 * The API reference at `/docs`: Swagger UI (swagger-ui-dist, served from here: no CDN, nothing
 * from the internet) over our `/openapi.json`. Public, like any documentation; calls made from
 * it carry the key its user enters under "Authorize", which stays in the page (not persisted).
 *
 * Only the files listed below are served, each read once and kept in memory (gzipped too): a
 * request names an entry of the list, never a path on disk.
 */
type Asset = { body: Buffer; gzipped?: Buffer; type: string; etag: string };

const DIST_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/** Ours, so that the page needs no inline script and the CSP can forbid it. */
const INIT_SCRIPT = `'use strict';
// Switchboard's API reference: Swagger UI over this server's OpenAPI document.
fetch('/openapi.json')
  .then((response) => response.json())
  .then((spec) => {
    // "Try it out" calls the document's server, PUBLIC_URL. A page reached at another address of
    // this same server (PUBLIC_URL unset, or an internal name) offers that address first: it is
    // the one this browser is known to reach.
    const servers = Array.isArray(spec.servers) ? spec.servers : [];
    if (!servers.some((server) => new URL(server.url, location.href).origin === location.origin)) {
      spec.servers = [{ url: location.origin, description: 'the address of this page' }, ...servers];
    }
    window.ui = SwaggerUIBundle({
      spec,
      dom_id: '#swagger-ui',
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis],
      layout: 'BaseLayout',
      // The key entered under "Authorize" stays in this page: never written to localStorage.
      persistAuthorization: false,
      displayRequestDuration: true,
      filter: true,
      // No call to validator.swagger.io (the default), or to anywhere but this server.
      validatorUrl: null,
    });
  });
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

/**
 * Scripts and styles only from this origin, never inline (Swagger UI sets element styles through
 * the DOM, which a CSP allows); no frames, no forms posted anywhere. Its icons are data: URIs; its
 * calls go to this origin and the API (the spec's server, PUBLIC_URL) only.
 */
function contentSecurityPolicy(apiOrigin: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${apiOrigin}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

let assets: Map<string, Asset> | undefined;

function asset(body: Buffer, type: string): Asset {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  // Text compresses to about a quarter; the 1.7 MB bundle is what the first visit waits for.
  return { body, type, etag, ...(type.startsWith('text/') ? { gzipped: gzipSync(body, { level: 9 }) } : {}) };
}

/** Read on the first visit to /docs (not at startup: most servers never serve it), then kept. */
function loadAssets(): Map<string, Asset> {
  if (assets) return assets;
  const dist = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const loaded = new Map<string, Asset>();
  for (const [name, type] of Object.entries(DIST_FILES)) loaded.set(name, asset(fs.readFileSync(path.join(dist, name)), type));
  loaded.set('init.js', asset(Buffer.from(INIT_SCRIPT), 'text/javascript; charset=utf-8'));
  assets = loaded;
  return loaded;
}

function sendAsset(req: IncomingMessage, res: ServerResponse, file: Asset, headers: Record<string, string>): void {
  res.setHeader('content-type', file.type);
  res.setHeader('etag', file.etag);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('vary', 'accept-encoding');
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (req.headers['if-none-match'] === file.etag) {
    res.statusCode = 304;
    res.end();
    return;
  }
  const gzip = file.gzipped && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? file.gzipped! : file.body;
  if (gzip) res.setHeader('content-encoding', 'gzip');
  res.statusCode = 200;
  res.setHeader('content-length', body.length);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Answers `/docs` and `/docs/<file>`; returns the route for the request log, or undefined
 * when the path is not ours.
 */
export function handleDocs(req: IncomingMessage, res: ServerResponse, pathname: string, options: { publicUrl: string }): string | undefined {
  if (pathname !== '/docs' && pathname !== '/docs/' && !pathname.startsWith('/docs/')) return undefined;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    sendError(res, new AppError('method_not_allowed', 'The API reference is read with GET'));
    return '/docs';
  }
  if (pathname === '/docs' || pathname === '/docs/') {
    const page = (pageAsset ??= asset(Buffer.from(PAGE), 'text/html; charset=utf-8'));
    sendAsset(req, res, page, strictPageHeaders(contentSecurityPolicy(new URL(options.publicUrl).origin)));
    return '/docs';
  }
  const file = loadAssets().get(pathname.slice('/docs/'.length));
  if (!file) {
    sendError(res, new AppError('not_found', `No file ${pathname}: the API reference is at /docs`));
    return '/docs/{file}';
  }
  // Not versioned by name: revalidated by ETag after an hour (a new release may change them).
  sendAsset(req, res, file, { 'cache-control': 'public, max-age=3600' });
  return '/docs/{file}';
}

let pageAsset: Asset | undefined;
