import { describe, expect, it } from 'vitest';
import { createLogger, redactSecretFields } from '../../src/logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ logLevel: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('log redaction', () => {
  it('censors secret-named fields at the top level and one level down, whatever their case', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        token: 'sbt_canary',
        Authorization: 'Bearer sk_canary',
        upstream: { headers: { 'x-api-key': 'canary' }, host: 'example.com', password: 'hunter2' },
        route: '/connect/{namespace}/{connectionId}/mcp',
      },
      'something',
    );
    expect(lines[0]).toMatchObject({
      token: '[redacted]',
      Authorization: '[redacted]',
      upstream: { headers: '[redacted]', host: 'example.com', password: '[redacted]' },
      route: '/connect/{namespace}/{connectionId}/mcp',
      msg: 'something',
    });
    expect(JSON.stringify(lines)).not.toMatch(/canary|hunter2/);
  });

  it('leaves the logged object itself untouched and passes clean objects through as they are', () => {
    const logged = { key: 'sk_secret', nested: { secret: 's' } };
    const redacted = redactSecretFields(logged);
    expect(redacted).toEqual({ key: '[redacted]', nested: { secret: '[redacted]' } });
    expect(logged).toEqual({ key: 'sk_secret', nested: { secret: 's' } });
    const clean = { method: 'POST', status: 200 };
    expect(redactSecretFields(clean)).toBe(clean);
  });

  it('keeps arrays and class instances (errors) as they are', () => {
    const { logger, lines } = capture();
    logger.info({ ids: ['a', 'b'], err: { message: 'boom' } }, 'x');
    expect(lines[0]).toMatchObject({ ids: ['a', 'b'], err: { message: 'boom' } });
  });
});

describe('readable logs (LOG_FORMAT=pretty, or auto on a terminal)', () => {
  function capturePretty() {
    let text = '';
    const logger = createLogger({ logLevel: 'info', logFormat: 'pretty' }, { write: (chunk: string) => void (text += chunk) });
    return { logger, text: () => text };
  }

  it('writes a readable line, not JSON: time, level, message, then the fields', () => {
    const { logger, text } = capturePretty();
    logger.warn({ namespace: 'my-team', status: 404 }, 'upstream answered HTTP 404');
    const output = text();
    expect(() => JSON.parse(output)).toThrow();
    expect(output).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: upstream answered HTTP 404\n/);
    expect(output).toMatch(/^ {4}namespace: "my-team"$/m);
    expect(output).toMatch(/^ {4}status: 404$/m);
    expect(output).not.toContain('service');
  });

  it('redacts secret-named fields there too', () => {
    const { logger, text } = capturePretty();
    logger.info({ token: 'sbt_canary', upstream: { Authorization: 'Bearer sk_canary', host: 'example.com' } }, 'something');
    expect(text()).toContain('[redacted]');
    expect(text()).toContain('example.com');
    expect(text()).not.toMatch(/canary/);
  });

  it('stays JSON for a destination of the caller unless pretty is asked for', () => {
    const lines: string[] = [];
    createLogger({ logLevel: 'info', logFormat: 'auto' }, { write: (line: string) => void lines.push(line) }).info('x');
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'x', level: 30 });
  });
});
