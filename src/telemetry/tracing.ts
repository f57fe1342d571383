import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { UpstreamOutcome } from '../core/network/upstream-observer.ts';
import type { Logger } from '../logger.ts';
import { SWITCHBOARD_VERSION } from '../version.ts';

/**
 * OpenTelemetry traces over OTLP/HTTP. Imported only when OTEL_TRACES_ENABLED (see telemetry.ts):
 * with traces off, none of OpenTelemetry is loaded.
 *
 * Spans carry route templates, methods, status codes and upstream host names: never a full
 * URL, a query string, a header, a tool's arguments or anything secret.
 */
export type Tracing = {
  startRequest(method: string): RequestSpan;
  startUpstream(url: URL, method: string): (outcome: UpstreamOutcome) => void;
  shutdown(): Promise<void>;
};

export type RequestSpan = {
  /** Runs `fn` with the request's span current, so that upstream calls become its children. */
  run<T>(fn: () => T): T;
  end(route: string, status: number): void;
};

let contextManagerSet = false;
const SHUTDOWN_EXPORT_MS = 2000;

export function startTracing(options: { url: string; serviceName: string }, logger: Logger): Tracing {
  // The process's one context manager (several servers may share a process): set once.
  if (!contextManagerSet) contextManagerSet = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName, 'service.version': SWITCHBOARD_VERSION }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: options.url }))],
  });
  const tracer = provider.getTracer('switchboard', SWITCHBOARD_VERSION);

  return {
    startRequest(method) {
      const span = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } }, context.active());
      return {
        run: (fn) => context.with(trace.setSpan(context.active(), span), fn),
        end(route, status) {
          span.updateName(`${method} ${route}`);
          span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        },
      };
    },
    startUpstream(url, method) {
      const span: Span = tracer.startSpan(method, {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': method,
          'server.address': url.hostname,
          'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
        },
      });
      return (outcome) => {
        if ('status' in outcome) {
          span.setAttribute('http.response.status_code', outcome.status);
          if (outcome.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        } else {
          span.setAttribute('error.type', outcome.error);
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.end();
      };
    },
    // The last spans are sent on the way out; a collector that is down must neither fail the
    // shutdown nor hold it for the exporter's retries (10 s).
    async shutdown() {
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${SHUTDOWN_EXPORT_MS} ms`)), SHUTDOWN_EXPORT_MS);
      });
      await Promise.race([provider.shutdown(), giveUp])
        .catch((error: unknown) => {
          logger.warn({ err: { message: (error as Error).message }, url: options.url }, 'could not export the last trace spans');
        })
        .finally(() => clearTimeout(timer));
    },
  };
}
