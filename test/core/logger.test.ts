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
