import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let alice: { key: string; accountId: string };
let bob: { key: string };

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.newAccount('alice');
  bob = await server.newAccount('bob');
});
afterAll(() => server?.close());

async function json(response: Response) {
  return { status: response.status, headers: response.headers, body: await response.json() };
}

describe('namespaces over REST', () => {
  it('creates a namespace with a generated human-readable name', async () => {
    const created = await json(await server.request('/namespaces', { method: 'POST', bearer: alice.key }));
    expect(created.status).toBe(201);
    expect(created.body.name).toMatch(/^[a-z]+-[a-z]+-[0-9a-f]{4}$/);
    expect(new Date(created.body.createdAt).toString()).not.toBe('Invalid Date');
    expect(Object.keys(created.body).sort()).toEqual(['createdAt', 'name']);
  });

  it('accepts a POST with an empty JSON body too', async () => {
    const created = await server.request('/namespaces', {
      method: 'POST',
      bearer: alice.key,
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(created.status).toBe(201);
  });

  it('PUT creates, then is idempotent for the owner and a 409 for anyone else', async () => {
    const first = await json(await server.request('/namespaces/alice-team', { method: 'PUT', bearer: alice.key }));
    expect(first.status).toBe(201);
    expect(first.body.name).toBe('alice-team');
    const again = await json(await server.request('/namespaces/alice-team', { method: 'PUT', bearer: alice.key }));
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);

    const taken = await json(await server.request('/namespaces/alice-team', { method: 'PUT', bearer: bob.key }));
    expect(taken.status).toBe(409);
    expect(taken.body).toEqual({ error: 'conflict', message: expect.stringContaining('alice-team') });
    expect(taken.headers.get('x-should-retry')).toBe('false');
  });

  it('concurrent PUTs of one free name by two accounts give it to exactly one', async () => {
    const results = await Promise.all(
      [alice.key, bob.key, alice.key, bob.key].map((key) => server.request('/namespaces/contested-name', { method: 'PUT', bearer: key })),
    );
    const statuses = results.map((r) => r.status).sort();
    const winners = new Set(
      await Promise.all(results.filter((r) => r.status === 201).map(async (r) => ((await r.json()) as { name: string }).name)),
    );
    expect(winners.size).toBe(1);
    expect(statuses.filter((s) => s === 201)).toHaveLength(2);
    expect(statuses.filter((s) => s === 409)).toHaveLength(2);
  });

  it('get answers the owner and 404s anyone else, as if it did not exist', async () => {
    await server.request('/namespaces/alice-private', { method: 'PUT', bearer: alice.key });
    expect((await server.request('/namespaces/alice-private', { bearer: alice.key })).status).toBe(200);
    const other = await json(await server.request('/namespaces/alice-private', { bearer: bob.key }));
    const missing = await json(await server.request('/namespaces/never-created', { bearer: bob.key }));
    expect(other.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(other.body.error).toBe('not_found');
  });

  it('lists only the caller’s namespaces, newest first, with page arithmetic', async () => {
    const owner = await server.newAccount('lister');
    const names = ['list-a1', 'list-a2', 'list-a3', 'list-a4', 'list-a5'];
    for (const name of names) await server.request(`/namespaces/${name}`, { method: 'PUT', bearer: owner.key });

    const page1 = await json(await server.request('/namespaces?page=1&pageSize=2', { bearer: owner.key }));
    expect(page1.status).toBe(200);
    expect(page1.body.pagination).toEqual({ currentPage: 1, pageSize: 2, totalPages: 3, totalCount: 5 });
    expect(page1.body.namespaces.map((n: { name: string }) => n.name)).toEqual(['list-a5', 'list-a4']);

    const page3 = await json(await server.request('/namespaces?page=3&pageSize=2', { bearer: owner.key }));
    expect(page3.body.namespaces.map((n: { name: string }) => n.name)).toEqual(['list-a1']);

    // Past the end: an empty page, which is what stops the official client's iteration.
    const page4 = await json(await server.request('/namespaces?page=4&pageSize=2', { bearer: owner.key }));
    expect(page4.status).toBe(200);
    expect(page4.body.namespaces).toEqual([]);
    expect(page4.body.pagination.totalCount).toBe(5);

    const others = await json(await server.request('/namespaces?pageSize=50', { bearer: bob.key }));
    expect(others.body.namespaces.map((n: { name: string }) => n.name)).not.toContain('list-a1');
  });

  it('every key of an account sees the same namespaces', async () => {
    const second = await server.addKey(alice.accountId);
    expect((await server.request('/namespaces/alice-team', { bearer: second.key })).status).toBe(200);
  });

  it('delete removes the namespace for its owner only, and frees the name', async () => {
    await server.request('/namespaces/short-lived', { method: 'PUT', bearer: alice.key });
    const byOther = await json(await server.request('/namespaces/short-lived', { method: 'DELETE', bearer: bob.key }));
    expect(byOther.status).toBe(404);
    const deleted = await json(await server.request('/namespaces/short-lived', { method: 'DELETE', bearer: alice.key }));
    expect(deleted).toMatchObject({ status: 200, body: { success: true, name: 'short-lived' } });
    expect((await server.request('/namespaces/short-lived', { bearer: alice.key })).status).toBe(404);
    expect((await server.request('/namespaces/short-lived', { method: 'DELETE', bearer: alice.key })).status).toBe(404);
    expect((await server.request('/namespaces/short-lived', { method: 'PUT', bearer: bob.key })).status).toBe(201);
  });
});
