import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

/** The metrics and tracing variables, as src/config.ts parses them. */
describe('telemetry configuration', () => {
  it('is all off by default', () => {
    expect(loadConfig({}).telemetry).toEqual({ metrics: {} });
  });

  it('reads the metrics listener and token', () => {
    expect(loadConfig({ METRICS_PORT: '9464' }).telemetry.metrics).toEqual({ listener: { host: '127.0.0.1', port: 9464 } });
    expect(loadConfig({ METRICS_PORT: '9464', METRICS_HOST: '10.0.0.5' }).telemetry.metrics.listener).toEqual({ host: '10.0.0.5', port: 9464 });
    expect(loadConfig({ METRICS_TOKEN: 'a'.repeat(24) }).telemetry.metrics).toEqual({ token: 'a'.repeat(24) });
  });

  it('builds the OTLP traces URL from the base endpoint, or takes the traces endpoint as given', () => {
    expect(loadConfig({ OTEL_TRACES_ENABLED: 'true' }).telemetry.traces).toEqual({ url: 'http://localhost:4318/v1/traces', serviceName: 'switchboard' });
    expect(loadConfig({ OTEL_TRACES_ENABLED: '1', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).telemetry.traces?.url).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      loadConfig({ OTEL_TRACES_ENABLED: 'true', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel.example.com/in', OTEL_SERVICE_NAME: 'sb-eu' }).telemetry.traces,
    ).toEqual({ url: 'https://otel.example.com/in', serviceName: 'sb-eu' });
    // An endpoint alone does not turn traces on.
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).telemetry.traces).toBeUndefined();
  });

  it.each([
    ['METRICS_PORT', { METRICS_PORT: '0' }],
    ['METRICS_PORT', { METRICS_PORT: 'ninety' }],
    ['METRICS_TOKEN', { METRICS_TOKEN: 'short' }],
    ['OTEL_TRACES_ENABLED', { OTEL_TRACES_ENABLED: 'yes please' }],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', { OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' }],
  ])('names %s when its value is bad', (variable, env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`${variable}:`));
  });
});
