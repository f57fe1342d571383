import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundedFetch, describeBoundedFetchFailure } from '../../src/core/network/bounded-fetch.ts';

/**
 * The bounds every request to an authorization server gets (discovery, registration, code
 * exchange, refresh, revocation): a deadline that covers the body, and a byte cap whether the
 * size is declared or not. A caller's own signal still counts.
 */
let server: Server;
let base: string;
const open = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    const path = req.url ?? '/';
    if (path === '/small') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    if (path === '/declared') return void res.writeHead(200, { 'content-length': 5000 }).end('x'.repeat(5000));
    if (path === '/streamed') {
      res.writeHead(200);
      for (let i = 0; i < 10; i++) res.write('x'.repeat(1000));
      return void res.end();
    }
    // /trickle: headers, then a byte now and then, never the end.
    res.writeHead(200, { 'content-type': 'application/json' });
    const timer = setInterval(() => res.write(' '), 100);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of open) res.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const bounded = boundedFetch(fetch, { timeoutMs: 1000, maxBytes: 4096 });

describe('boundedFetch', () => {
  it('passes a small answer through', async () => {
    expect(await (await bounded(`${base}/small`)).json()).toEqual({ ok: true });
  });

  it.each(['declared', 'streamed'])('refuses an answer over the cap (%s size)', async (kind) => {
    const failure = await bounded(`${base}/${kind}`)
      .then((response) => response.text())
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(describeBoundedFetchFailure(failure)).toMatch(/larger than 4 KiB/);
  });

  it('gives up on a body that never ends, at the deadline', async () => {
    const response = await bounded(`${base}/trickle`);
    const failure = await response.text().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(describeBoundedFetchFailure(failure)).toBe('it did not answer in time');
  });

  it('still honours the caller’s own signal', async () => {
    const caller = new AbortController();
    const response = await bounded(`${base}/trickle`, { signal: caller.signal });
    caller.abort(new Error('the caller gave up'));
    await expect(response.text()).rejects.toThrow('the caller gave up');
  });
});
