import { describe, expect, it } from 'vitest';
import { ConfigError, loadClientConfig } from '../../src/config.ts';

/** The CLI's own settings: never the service's (no database setting is needed or read). */
describe('loadClientConfig', () => {
  it('defaults to the local server and no key', () => {
    expect(loadClientConfig({})).toEqual({ url: 'http://127.0.0.1:8080', apiKey: undefined });
    expect(loadClientConfig({ SWITCHBOARD_URL: '', SWITCHBOARD_API_KEY: '' })).toEqual({ url: 'http://127.0.0.1:8080', apiKey: undefined });
  });

  it('reads the URL (without a trailing slash) and the key, ignoring the service settings', () => {
    const config = loadClientConfig({ SWITCHBOARD_URL: 'https://sb.example.com/base/', SWITCHBOARD_API_KEY: 'sk_a_b', DATABASE_URL: 'mysql://nope', PORT: 'eighty' });
    expect(config).toEqual({ url: 'https://sb.example.com/base', apiKey: 'sk_a_b' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each(['not a url', 'ftp://example.com', 'example.com:8080'])('refuses SWITCHBOARD_URL=%s, naming the variable and not the key', (url) => {
    const attempt = () => loadClientConfig({ SWITCHBOARD_URL: url, SWITCHBOARD_API_KEY: 'sk_secret_value' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/SWITCHBOARD_URL: must be an http\(s\) URL/);
    expect(attempt).not.toThrow(/sk_secret_value/);
  });
});
