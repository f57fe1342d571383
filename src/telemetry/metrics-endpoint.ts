import { createHash, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { AppError } from '../errors.ts';
import { sendError } from '../wire/respond.ts';
import type { Logger } from '../logger.ts';
import type { TelemetryConfig } from '../telemetry-config.ts';

const HOW_TO_ENABLE =
  'Metrics are not served on this port. Set METRICS_TOKEN to serve them here to `Authorization: Bearer <METRICS_TOKEN>`, ' +
  'or METRICS_PORT (and METRICS_HOST, default 127.0.0.1) to serve them on a listener of their own.';

async function sendMetrics(req: IncomingMessage, res: ServerResponse, registry: Registry): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    sendError(res, new AppError('method_not_allowed', 'Use GET /metrics'));
    return;
  }
  const text = await registry.metrics();
  res.statusCode = 200;
  res.setHeader('content-type', registry.contentType);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(req.method === 'HEAD' ? undefined : text);
}

/** Constant time in the token's content: both sides are hashed to one length first. */
function sameToken(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/**
 * `/metrics` on the main port: only with METRICS_TOKEN, to that bearer; otherwise a 404 that
 * says how to turn it on.
 */
export async function serveMetricsOnMainPort(
  req: IncomingMessage,
  res: ServerResponse,
  options: { config: TelemetryConfig; registry: Registry | undefined },
): Promise<void> {
  const token = options.config.metrics.token;
  if (!token || !options.registry) {
    const elsewhere = options.config.metrics.listener
      ? 'Metrics are served on the METRICS_PORT listener, not on this port (set METRICS_TOKEN to serve them here too, to that bearer).'
      : HOW_TO_ENABLE;
    sendError(res, new AppError('not_found', elsewhere));
    return;
  }
  const header = req.headers.authorization ?? '';
  const presented = /^Bearer[ \t]+(\S+)\s*$/i.exec(header)?.[1];
  if (!presented || !sameToken(presented, token)) {
    sendError(res, new AppError('unauthorized', 'GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`'));
    return;
  }
  await sendMetrics(req, res, options.registry);
}

/**
 * The separate metrics listener (METRICS_PORT): `/metrics` and nothing else, without auth —
 * it is meant for an address only the scraper reaches (127.0.0.1 by default).
 */
export async function startMetricsListener(
  listener: { host: string; port: number },
  registry: Registry,
  logger: Logger,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0];
    if (pathname !== '/metrics') {
      sendError(res, new AppError('not_found', 'This listener serves GET /metrics only'));
      return;
    }
    sendMetrics(req, res, registry).catch((error: unknown) => {
      logger.error({ err: { message: (error as Error).message } }, 'metrics collection failed');
      if (!res.headersSent) sendError(res, new AppError('internal_error', 'Metrics collection failed'));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`METRICS_PORT ${listener.port} on ${listener.host} is already in use`)
          : error.code === 'EADDRNOTAVAIL'
            ? new Error(`METRICS_HOST ${listener.host} is not an address of this machine`)
            : error,
      ),
    );
    server.listen(listener.port, listener.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = listener.host.includes(':') ? `[${listener.host}]` : listener.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
