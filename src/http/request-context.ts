import type { IncomingMessage } from 'node:http';
import type { RequestContext, Services } from '../api/context.ts';
import type { Principal } from '../core/auth/authenticate.ts';
import type { Logger } from '../logger.ts';
import { clientAddressOf } from './client-address.ts';

/*
 * One context per request, made from what the request says (its bearer, its client's address):
 * HTTP work, so it is done here at the edge. The context's type is the API's (api/context.ts),
 * as every procedure runs with it and both surfaces, REST here and MCP, may import the API.
 */

export function readBearer(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

export type RequestContexts = {
  /** A context holding its own copy of the services: for tRPC, REST and pages, which spread contexts. */
  forRoutersAndPages(req: Pick<IncomingMessage, 'headers' | 'socket'>, requestId: string): RequestContext;
  /**
   * A context that inherits the services: for the MCP endpoints only, the proxy's hot path,
   * where copying them was the largest cost of our own per call. Spreading it (as tRPC's
   * middleware does) would lose the services: nothing on the MCP endpoints' path does.
   */
  forMcpEndpoints(req: Pick<IncomingMessage, 'headers' | 'socket'>, requestId: string): RequestContext;
};

export function requestContexts(services: Services): RequestContexts {
  const { logger } = services;
  const { trustProxyHops } = services.config.authFailures;

  class InheritingContext {
    readonly response: RequestContext['response'] = {};
    principal: Principal | undefined;
    #logger: Logger | undefined;
    constructor(
      readonly requestId: string,
      readonly bearer: string | undefined,
      readonly client: string | undefined,
    ) {}
    // Made on first use: most requests log nothing but their one request line.
    get logger(): Logger {
      this.#logger ??= logger.child({ reqId: this.requestId });
      return this.#logger;
    }
  }
  Object.setPrototypeOf(InheritingContext.prototype, services);

  return {
    forRoutersAndPages(req, requestId) {
      let requestLogger: Logger | undefined;
      return {
        ...services,
        requestId,
        get logger() {
          requestLogger ??= logger.child({ reqId: requestId });
          return requestLogger;
        },
        bearer: readBearer(req),
        client: clientAddressOf(req, trustProxyHops),
        response: {},
      };
    },
    forMcpEndpoints(req, requestId) {
      return new InheritingContext(requestId, readBearer(req), clientAddressOf(req, trustProxyHops)) as unknown as RequestContext;
    },
  };
}
