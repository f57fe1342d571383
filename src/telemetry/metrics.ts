import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CacheStats } from '../core/cache/bounded-cache.ts';
import type { UpstreamOutcome } from '../core/network/upstream-observer.ts';
import type { QueryObserver } from '../db/query-observer.ts';

/**
 * Switchboard's Prometheus metrics, on a registry of this server's own (several servers share
 * a process in tests; the global default registry would mix them). Every label value comes
 * from a closed set or a bounded one: route templates, status codes, a capped set of upstream
 * hosts — never a raw path, an id or anything else a caller chose.
 */
export type Metrics = ReturnType<typeof createMetrics>;

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Past this many distinct upstream hosts, the rest are counted as `other`: users choose upstream URLs. */
export const MAX_UPSTREAM_HOST_LABELS = 200;

export function methodLabel(method: string | undefined): string {
  return method !== undefined && METHODS.has(method) ? method : 'other';
}

export function createMetrics(database: { kind: string; poolSize: number }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const httpRequests = new Counter({
    name: 'switchboard_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'switchboard_http_request_duration_seconds',
    help: 'Time from a request arriving to its response ending, by method and route template',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });

  const upstreamHosts = new Set<string>();
  const upstreamDuration = new Histogram({
    name: 'switchboard_upstream_request_duration_seconds',
    help: 'Outbound requests (MCP upstreams, OAuth servers) until their response headers, by host and method',
    labelNames: ['host', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const upstreamRequests = new Counter({
    name: 'switchboard_upstream_requests_total',
    help: 'Outbound requests by host and status class (1xx-5xx, or error when no answer came)',
    labelNames: ['host', 'status_class'] as const,
    registers,
  });
  const upstreamErrors = new Counter({
    name: 'switchboard_upstream_errors_total',
    help: 'Outbound requests that failed, by host and reason: network, timeout, aborted (the caller went away) or status_5xx',
    labelNames: ['host', 'reason'] as const,
    registers,
  });

  const oauthRefreshes = new Counter({
    name: 'switchboard_oauth_refreshes_total',
    help: 'Upstream OAuth access tokens refreshed',
    registers,
  });
  const oauthRefreshFailures = new Counter({
    name: 'switchboard_oauth_refresh_failures_total',
    help: 'Upstream OAuth refreshes that failed, by reason',
    labelNames: ['reason'] as const,
    registers,
  });

  const caches = new Map<string, CacheStats>();
  // The caches count in plain integers on their hot path; the counters are read at scrape time.
  new Counter({
    name: 'switchboard_cache_requests_total',
    help: 'Lookups in the in-process caches by cache and result (hit or miss); hit ratio = hit / (hit + miss)',
    labelNames: ['cache', 'result'] as const,
    registers,
    collect() {
      this.reset();
      for (const [name, stats] of caches) {
        this.inc({ cache: name, result: 'hit' }, stats.hits);
        this.inc({ cache: name, result: 'miss' }, stats.misses);
      }
    },
  });
  new Gauge({
    name: 'switchboard_cache_entries',
    help: 'Entries held by each in-process cache',
    labelNames: ['cache'] as const,
    registers,
    collect() {
      for (const [name, stats] of caches) this.set({ cache: name }, stats.size);
    },
  });

  new Gauge({
    name: 'switchboard_db_pool_size',
    help: 'Database connections the pool may open (PGlite: one, in-process)',
    labelNames: ['database'] as const,
    registers,
  }).set({ database: database.kind }, database.poolSize);
  const dbInUse = new Gauge({ name: 'switchboard_db_connections_in_use', help: 'Database connections checked out of the pool', registers });
  const dbInFlight = new Gauge({ name: 'switchboard_db_queries_in_flight', help: 'Database queries sent and not yet answered', registers });
  const dbDuration = new Histogram({
    name: 'switchboard_db_query_duration_seconds',
    help: 'Database query latency, by outcome (ok or error)',
    labelNames: ['outcome'] as const,
    buckets: QUERY_BUCKETS,
    registers,
  });

  return {
    registry,
    request(method: string, route: string, status: number, seconds: number): void {
      httpRequests.inc({ method, route, status });
      httpDuration.observe({ method, route }, seconds);
    },
    upstream(hostname: string, method: string, outcome: UpstreamOutcome, seconds: number): void {
      const host = hostLabel(upstreamHosts, hostname);
      if ('status' in outcome) {
        upstreamRequests.inc({ host, status_class: `${Math.floor(outcome.status / 100)}xx` });
        if (outcome.status >= 500) upstreamErrors.inc({ host, reason: 'status_5xx' });
        upstreamDuration.observe({ host, method: methodLabel(method) }, seconds);
      } else {
        upstreamRequests.inc({ host, status_class: 'error' });
        upstreamErrors.inc({ host, reason: outcome.error });
      }
    },
    oauthRefreshed(): void {
      oauthRefreshes.inc();
    },
    oauthRefreshFailed(reason: string): void {
      oauthRefreshFailures.inc({ reason });
    },
    addCache(name: string, stats: CacheStats): void {
      caches.set(name, stats);
    },
    queries: {
      connectionAcquired: () => dbInUse.inc(),
      connectionReleased: () => dbInUse.dec(),
      queryStarted: () => dbInFlight.inc(),
      queryEnded: (seconds, failed) => {
        dbInFlight.dec();
        dbDuration.observe({ outcome: failed ? 'error' : 'ok' }, seconds);
      },
    } satisfies QueryObserver,
  };
}

function hostLabel(known: Set<string>, host: string): string {
  if (known.has(host)) return host;
  if (known.size >= MAX_UPSTREAM_HOST_LABELS) return 'other';
  known.add(host);
  return host;
}
