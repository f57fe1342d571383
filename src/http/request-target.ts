/**
 * The request target as the routes may see it. Node passes the request line's target through
 * as is: the absolute form a proxy sends (`http://host/path`), the asterisk form (`*`), and
 * dot-segments, which the REST adapter's URL parser would resolve (`/x/%2e%2e/namespaces`
 * reaching `/namespaces`) after our own routing had seen another path.
 */
export type RequestTarget = { ok: true; url: string; pathname: string } | { ok: false; message: string };

const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

export function checkRequestTarget(raw: string | undefined): RequestTarget {
  let url = raw ?? '/';
  if (!url.startsWith('/')) {
    // Servers must accept the absolute form (RFC 9112 §3.2.2); only its path and query matter.
    let parsed: URL | undefined;
    try {
      parsed = /^https?:\/\//i.test(url) ? new URL(url) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed) return { ok: false, message: 'The request target must be a path such as /namespaces' };
    url = parsed.pathname + parsed.search;
  }
  const pathname = url.split('?', 1)[0]!;
  // URL parsers read a backslash as a slash in http URLs (so `..\` would be a dot-segment).
  if (pathname.includes('\\')) return { ok: false, message: 'The path must not contain a backslash (send it as %5C)' };
  if (pathname.split('/').some((segment) => DOT_SEGMENT.test(segment))) {
    return { ok: false, message: 'The path must not contain . or .. segments' };
  }
  return { ok: true, url, pathname };
}
