import Smithery045 from 'smithery-api-045';
import Smithery068 from 'smithery-api-068';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * The official `@smithery/api` client, unchanged, pointed at our server: the two versions
 * apps have in the field (0.45.0 predates the Connect base URL; 0.68.0 is current).
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

type ClientOptions = { apiKey: string; baseURL: string; connectBaseURL: string; maxRetries: number };
// Each version's own constructor, so the test exercises exactly that version's code.
const clients = [
  ['0.68.0', Smithery068, (options: ClientOptions) => new Smithery068(options)],
  ['0.45.0', Smithery045, (options: ClientOptions) => new Smithery045(options)],
] as const;

describe.each(clients)('@smithery/api %s', (version, Smithery, construct) => {
  // Namespace names are global: keep each version's apart.
  const tag = version.replace(/\./g, '');
  function connect(apiKey: string) {
    return construct({ apiKey, baseURL: server.url, connectBaseURL: server.url, maxRetries: 0 });
  }

  it('creates, lists across pages, sets idempotently and deletes namespaces', async () => {
    const { key } = await server.newAccount();
    const client = connect(key);

    const created = await client.namespaces.create();
    expect(created.name).toMatch(/^[a-z]+-[a-z]+-[0-9a-f]{4}$/);

    const chosen = Array.from({ length: 12 }, (_, i) => `sdk${tag}-${String(i).padStart(2, '0')}`);
    for (const name of chosen) {
      const set = await client.namespaces.set(name);
      expect(set.name).toBe(name);
    }
    // Idempotent for its owner.
    expect((await client.namespaces.set(`sdk${tag}-00`)).name).toBe(`sdk${tag}-00`);

    // Auto-pagination walks every page (small pages force several) and stops at the empty one.
    const seen: string[] = [];
    for await (const namespace of client.namespaces.list({ pageSize: 5 })) seen.push(namespace.name);
    expect(seen.sort()).toEqual([created.name, ...chosen].sort());

    const deleted = await client.namespaces.delete(`sdk${tag}-03`);
    expect(deleted).toMatchObject({ success: true, name: `sdk${tag}-03` });
    const after: string[] = [];
    for await (const namespace of client.namespaces.list()) after.push(namespace.name);
    expect(after).not.toContain(`sdk${tag}-03`);
    expect(after).toHaveLength(12);
  });

  it('surfaces our errors as the client’s error classes', async () => {
    const owner = connect((await server.newAccount()).key);
    const other = connect((await server.newAccount()).key);
    await owner.namespaces.set(`sdk${tag}-owned`);

    const conflict = await other.namespaces.set(`sdk${tag}-owned`).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(Smithery.ConflictError);
    expect((conflict as InstanceType<typeof Smithery.ConflictError>).status).toBe(409);

    const missing = await other.namespaces.delete(`sdk${tag}-owned`).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Smithery.NotFoundError);

    const unauthenticated = await connect(`sk_${'a'.repeat(16)}_${'b'.repeat(52)}`).namespaces.create().catch((e: unknown) => e);
    expect(unauthenticated).toBeInstanceOf(Smithery.AuthenticationError);

    const invalid = await owner.namespaces.set('Not_Valid').catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(Smithery.BadRequestError);
  });

  it('does not retry a 409 (x-should-retry: false)', async () => {
    const owner = connect((await server.newAccount()).key);
    await owner.namespaces.set(`sdk${tag}-retry`);
    const { key } = await server.newAccount();
    const retrying = construct({ apiKey: key, baseURL: server.url, connectBaseURL: server.url, maxRetries: 2 });
    const before = server.logs.filter((l) => l.route === '/namespaces/{name}' && l.status === 409).length;
    await expect(retrying.namespaces.set(`sdk${tag}-retry`)).rejects.toBeInstanceOf(Smithery.ConflictError);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = server.logs.filter((l) => l.route === '/namespaces/{name}' && l.status === 409).length;
    expect(after - before).toBe(1);
  });
});

describe('configured from the environment, as docs/clients.md says', () => {
  it('reads SMITHERY_BASE_URL, SMITHERY_CONNECT_BASE_URL and SMITHERY_API_KEY', async () => {
    const { key } = await server.newAccount();
    const saved = { ...process.env };
    Object.assign(process.env, { SMITHERY_BASE_URL: server.url, SMITHERY_CONNECT_BASE_URL: server.url, SMITHERY_API_KEY: key });
    try {
      for (const Smithery of [Smithery068, Smithery045]) {
        const created = await new Smithery().namespaces.create();
        expect((await server.request(`/namespaces/${created.name}`, { bearer: key })).status).toBe(200);
      }
    } finally {
      for (const name of ['SMITHERY_BASE_URL', 'SMITHERY_CONNECT_BASE_URL', 'SMITHERY_API_KEY']) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  });
});
