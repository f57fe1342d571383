import type { CacheStats } from '../core/cache/bounded-cache.ts';
import type { UpstreamCallObserver } from '../core/network/upstream-observer.ts';
import type { OAuthRefreshObserver } from '../core/oauth/oauth-tokens.ts';
import type { OpenDatabase } from '../db/open.ts';
import type { Logger } from '../logger.ts';
import { createMetrics, methodLabel, type Metrics } from './metrics.ts';
import { startMetricsListener } from './metrics-endpoint.ts';
import { metricsEnabled, type TelemetryConfig } from '../telemetry-config.ts';
import type { Tracing } from './tracing.ts';

/** One request, as metrics and traces see it. */
export type RequestObservation = {
  /** Runs the request's handling (with its span current, when tracing). */
  run<T>(fn: () => T): T;
  /** The response ended: `route` is a template or a fixed name, never the raw path. */
  finish(route: string, status: number): void;
};

/**
 * Metrics and traces of one server. With neither configured, every hook is a no-op and
 * neither prom-client's collectors nor OpenTelemetry are set up.
 */
export type Telemetry = {
  request(method: string | undefined): RequestObservation;
  /** Outbound calls (undefined: nobody listens). */
  readonly upstream: UpstreamCallObserver | undefined;
  readonly oauth: OAuthRefreshObserver | undefined;
  /** Undefined when metrics are off. */
  readonly metrics: Metrics | undefined;
  /** Where the separate metrics listener answers, when METRICS_PORT is set. */
  readonly metricsUrl: string | undefined;
  observeCaches(caches: Record<string, CacheStats>): void;
  close(): Promise<void>;
};

const UNOBSERVED: RequestObservation = { run: (fn) => fn(), finish() {} };

export async function createTelemetry(config: TelemetryConfig, database: OpenDatabase, logger: Logger): Promise<Telemetry> {
  const metrics = metricsEnabled(config) ? createMetrics({ kind: database.kind, poolSize: database.poolSize }) : undefined;
  // Loaded only when asked for: with traces off, no OpenTelemetry module is in the process.
  const tracing: Tracing | undefined = config.traces ? (await import('./tracing.ts')).startTracing(config.traces, logger) : undefined;
  database.observeQueries(metrics?.queries);
  let listener: Awaited<ReturnType<typeof startMetricsListener>> | undefined;
  if (metrics && config.metrics.listener) {
    try {
      listener = await startMetricsListener(config.metrics.listener, metrics.registry, logger);
    } catch (error) {
      database.observeQueries(undefined);
      await tracing?.shutdown();
      throw error;
    }
  }

  const upstream: UpstreamCallObserver | undefined =
    metrics || tracing
      ? {
          start(url, method) {
            const started = performance.now();
            const span = tracing?.startUpstream(url, method);
            return (outcome) => {
              metrics?.upstream(url.host, method, outcome, (performance.now() - started) / 1000);
              span?.(outcome);
            };
          },
        }
      : undefined;

  return {
    request(rawMethod) {
      if (!metrics && !tracing) return UNOBSERVED;
      const started = performance.now();
      const method = methodLabel(rawMethod);
      const span = tracing?.startRequest(method);
      return {
        run: span ? (fn) => span.run(fn) : (fn) => fn(),
        finish(route, status) {
          metrics?.request(method, route, status, (performance.now() - started) / 1000);
          span?.end(route, status);
        },
      };
    },
    upstream,
    oauth: metrics && { refreshed: () => metrics.oauthRefreshed(), refreshFailed: (reason) => metrics.oauthRefreshFailed(reason) },
    metrics,
    metricsUrl: listener?.url,
    observeCaches(caches) {
      if (metrics) for (const [name, stats] of Object.entries(caches)) metrics.addCache(name, stats);
    },
    async close() {
      database.observeQueries(undefined);
      await listener?.close();
      await tracing?.shutdown();
    },
  };
}
