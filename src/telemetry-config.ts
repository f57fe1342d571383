import { z } from 'zod';

/**
 * The environment variables of metrics and tracing, merged into the schema of src/config.ts
 * (which alone reads `process.env`).
 */
export const telemetryEnv = {
  /** Serve `/metrics` on a listener of its own (no auth: bind it where only the scraper reaches). */
  METRICS_PORT: z.coerce
    .number({ error: 'must be a port number from 1 to 65535' })
    .int({ error: 'must be a port number from 1 to 65535' })
    .min(1, { error: 'must be a port number from 1 to 65535' })
    .max(65535, { error: 'must be a port number from 1 to 65535' })
    .optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Serve `/metrics` on the main port to `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters of random text (e.g. `openssl rand -hex 24`)').optional(),
  OTEL_TRACES_ENABLED: z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).default('false'),
  /** The OTLP/HTTP base URL; traces go to `<endpoint>/v1/traces` (the OpenTelemetry convention). */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL, e.g. http://127.0.0.1:4318' }).optional(),
  /** The full traces URL, used as given (overrides the base URL above). */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL, e.g. http://127.0.0.1:4318/v1/traces' }).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('switchboard'),
};

const telemetrySchema = z.object(telemetryEnv);
type TelemetryEnv = z.output<typeof telemetrySchema>;

export type TelemetryConfig = Readonly<{
  metrics: Readonly<{
    /** A separate listener for `/metrics`, unauthenticated. */
    listener?: Readonly<{ host: string; port: number }>;
    /** Bearer token for `/metrics` on the main port. */
    token?: string;
  }>;
  /** Off unless OTEL_TRACES_ENABLED; then where spans go (OTLP/HTTP, JSON). */
  traces?: Readonly<{ url: string; serviceName: string }>;
}>;

const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';

export function telemetryConfig(env: TelemetryEnv): TelemetryConfig {
  const tracesOn = env.OTEL_TRACES_ENABLED === 'true' || env.OTEL_TRACES_ENABLED === '1';
  const base = (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? DEFAULT_OTLP_ENDPOINT).replace(/\/+$/, '');
  return Object.freeze({
    metrics: Object.freeze({
      ...(env.METRICS_PORT !== undefined ? { listener: Object.freeze({ host: env.METRICS_HOST, port: env.METRICS_PORT }) } : {}),
      ...(env.METRICS_TOKEN !== undefined ? { token: env.METRICS_TOKEN } : {}),
    }),
    ...(tracesOn
      ? { traces: Object.freeze({ url: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${base}/v1/traces`, serviceName: env.OTEL_SERVICE_NAME }) }
      : {}),
  });
}

/** Whether anything records metrics: with `/metrics` unreachable, nothing is counted at all. */
export function metricsEnabled(config: TelemetryConfig): boolean {
  return config.metrics.listener !== undefined || config.metrics.token !== undefined;
}
