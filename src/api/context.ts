import type { IncomingMessage } from 'node:http';
import type { Services } from '../services.ts';
import type { Logger } from '../logger.ts';

export type { Services };

export type RequestContext = Services & {
  requestId: string;
  logger: Logger;
  /** The raw bearer credential, if the request carried one. Never log it. */
  bearer: string | undefined;
  /**
   * Set by a procedure to override the REST success status (e.g. 200 vs 201 on upsert), and by
   * the access middleware to add headers (rate limits) to the answer, success or error.
   */
  response: { status?: number; headers?: Record<string, string> };
};

export function readBearer(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}
