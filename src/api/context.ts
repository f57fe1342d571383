import type { IncomingMessage } from 'node:http';
import type { Config } from '../config.ts';
import type { Keyring } from '../core/crypto/keyring.ts';
import type { Db } from '../db/open.ts';
import type { Logger } from '../logger.ts';

/** What every request's handlers can reach: long-lived services, plus this request's facts. */
export type Services = {
  config: Config;
  db: Db;
  keyring: Keyring;
  logger: Logger;
};

export type RequestContext = Services & {
  requestId: string;
  logger: Logger;
  /** The raw bearer credential, if the request carried one. Never log it. */
  bearer: string | undefined;
  /** Set by a procedure to override the REST success status (e.g. 200 vs 201 on upsert). */
  response: { status?: number };
};

export function readBearer(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}
