import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../../src/api/router.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

function client(key?: string) {
  return createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url: `${server.url}/trpc`, headers: () => (key ? { authorization: `Bearer ${key}` } : {}) })],
  });
}

describe('typed tRPC client', () => {
  it('manages namespaces through the same procedures as REST', async () => {
    const { key } = await server.newAccount();
    const trpc = client(key);
    const created = await trpc.namespaces.set.mutate({ name: 'trpc-made' });
    expect(created.name).toBe('trpc-made');
    const generated = await trpc.namespaces.create.mutate();
    const listed = await trpc.namespaces.list.query({ pageSize: 50 });
    expect(listed.namespaces.map((n) => n.name).sort()).toEqual([generated.name, 'trpc-made'].sort());
    // REST sees what tRPC made.
    expect((await server.request('/namespaces/trpc-made', { bearer: key })).status).toBe(200);
    await expect(trpc.namespaces.delete.mutate({ name: 'trpc-made' })).resolves.toEqual({ success: true, name: 'trpc-made' });
    expect((await trpc.health.check.query()).status).toBe('ok');
  });

  it('carries our error codes and the right HTTP status', async () => {
    const anonymous = client();
    const error = await anonymous.namespaces.list.query({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    const trpcError = error as TRPCClientError<AppRouter>;
    expect(trpcError.data?.httpStatus).toBe(401);
    expect(trpcError.data?.error).toBe('unauthorized');
    expect(trpcError.data).not.toHaveProperty('stack');

    const { key } = await server.newAccount();
    const invalid = (await client(key).namespaces.set.mutate({ name: 'NO' }).catch((e: unknown) => e)) as TRPCClientError<AppRouter>;
    expect(invalid.data?.httpStatus).toBe(400);
    expect(invalid.data?.error).toBe('validation_error');
  });
});
