import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('loadConfig', () => {
  it('defaults to PGlite in ./data on 127.0.0.1:8080', () => {
    const config = loadConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8080);
    expect(config.publicUrl).toBe('http://127.0.0.1:8080');
    expect(config.database).toEqual({ kind: 'pglite', dataDir: path.resolve('./data') });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('picks the log format by the terminal unless LOG_FORMAT says json or pretty', () => {
    expect(loadConfig({}).logFormat).toBe('auto');
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
  });

  it('uses PostgreSQL when DATABASE_URL is set, and then demands a shared secret', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://localhost/db' })).toThrow(/SWITCHBOARD_SECRET/);
    const config = loadConfig({ DATABASE_URL: 'postgres://localhost/db', SWITCHBOARD_SECRET: 'x'.repeat(40) });
    expect(config.database).toMatchObject({ kind: 'postgres', url: 'postgres://localhost/db' });
  });

  it.each([
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'not a url' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'ftp://example.com' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/db' }],
    ['SWITCHBOARD_SECRET', { SWITCHBOARD_SECRET: 'short' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['LOG_FORMAT', { LOG_FORMAT: 'yaml' }],
    ['MAX_BODY_BYTES', { MAX_BODY_BYTES: '-1' }],
    ['AUTH_FAILURES_PER_MINUTE', { AUTH_FAILURES_PER_MINUTE: '-1' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'yes' }],
    ['MAX_CONNECTIONS', { MAX_CONNECTIONS: 'lots' }],
    ['UNAUTHENTICATED_BODY_TIMEOUT_MS', { UNAUTHENTICATED_BODY_TIMEOUT_MS: '0' }],
  ])('names %s when its value is bad', (variable, env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`${variable}:`));
  });

  it('derives PUBLIC_URL from HOST and PORT, and trims a trailing slash from an explicit one', () => {
    expect(loadConfig({ HOST: '0.0.0.0', PORT: '9000' }).publicUrl).toBe('http://0.0.0.0:9000');
    expect(loadConfig({ HOST: '::1', PORT: '9000' }).publicUrl).toBe('http://[::1]:9000');
    expect(loadConfig({ PUBLIC_URL: 'https://sb.example.com/' }).publicUrl).toBe('https://sb.example.com');
  });
});
