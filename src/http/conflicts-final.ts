import type { ServerResponse } from 'node:http';

/**
 * Every 409 Switchboard answers carries `x-should-retry: false`, whoever wrote it: the REST
 * and tRPC error map, the MCP endpoints (input_required), the setup and OAuth pages, and a 409
 * an upstream answered that the MCP endpoint passes through. Stainless-generated clients
 * (@smithery/api) read a 409 as a lock timeout and retry it twice unless told not to, and no
 * conflict here frees itself (a taken name, a connection that needs input). Hooked on the
 * response once per request, as every answer's head passes through writeHead (Node's implicit
 * head included), so no route has to remember it.
 */
export function markConflictsFinal(res: ServerResponse): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
    if (args[0] === 409 && !res.headersSent) res.setHeader('x-should-retry', 'false');
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
}
