import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Whatever answers a request, the connection ends with the answer when the request's body is
 * still arriving. Node would otherwise keep the connection and drain the unread rest at the
 * sender's pace (up to the server's request timeout): a stranger could hold connections open
 * with a body no route asked for, on a GET, or behind a refusal (issue 15). Hooked once per
 * request, so no route has to remember it.
 */
export function closeConnectionIfAnsweredBeforeBody(req: IncomingMessage, res: ServerResponse): void {
  // Most requests announce no body: nothing to watch, and nothing allocated for them.
  if (!announcesBody(req)) return;
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
    if (!req.complete && !res.headersSent) res.setHeader('connection', 'close');
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
}

/**
 * A request without a body is not complete yet when it is answered synchronously (the parser
 * marks it so right after the request event): only a body that was announced is waited for.
 */
function announcesBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length.trim() !== '0');
}
