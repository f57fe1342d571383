import type { Tool } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { createToolListCache } from '../../src/core/upstream/tool-list-cache.ts';

const tool = (name: string): Tool => ({ name, inputSchema: { type: 'object' } });

/** An upstream list whose answers the test releases one by one, counting how often it was asked. */
function upstreamList() {
  const waiting: ((tools: Tool[]) => void)[] = [];
  const list = {
    asked: 0,
    fetch: () => {
      list.asked++;
      return new Promise<Tool[]>((resolve) => waiting.push(resolve));
    },
    answer: (names: string[]) => waiting.shift()!(names.map(tool)),
  };
  return list;
}

const names = (listed: { tools: Tool[] }) => listed.tools.map((t) => t.name);

describe('the tool list cache of a session', () => {
  it('serves the held list until its TTL runs out, then asks again', async () => {
    let clock = 1_000;
    const cache = createToolListCache(500, () => clock);
    const upstream = upstreamList();
    const first = cache.get(upstream.fetch);
    upstream.answer(['a']);
    expect(await first).toEqual({ tools: [tool('a')], fetched: true });
    clock += 499;
    expect(await cache.get(upstream.fetch)).toEqual({ tools: [tool('a')], fetched: false });
    clock += 1;
    const expired = cache.get(upstream.fetch);
    upstream.answer(['a', 'b']);
    expect(names(await expired)).toEqual(['a', 'b']);
    expect(upstream.asked).toBe(2);
  });

  it('shows the held list without fetching while it is fresh, and nothing once it expired or was invalidated', async () => {
    let clock = 1_000;
    const cache = createToolListCache(500, () => clock);
    const upstream = upstreamList();
    expect(cache.fresh()).toBeUndefined();
    const first = cache.get(upstream.fetch);
    expect(cache.fresh()).toBeUndefined();
    upstream.answer(['a']);
    await first;
    expect(cache.fresh()).toEqual([tool('a')]);
    clock += 500;
    expect(cache.fresh()).toBeUndefined();
    const again = cache.get(upstream.fetch);
    upstream.answer(['b']);
    await again;
    expect(cache.fresh()).toEqual([tool('b')]);
    cache.invalidate();
    expect(cache.fresh()).toBeUndefined();
    expect(upstream.asked).toBe(2);
  });

  it('asks once for callers that miss together, and a refresh running is shared by other refreshes', async () => {
    const cache = createToolListCache(60_000);
    const upstream = upstreamList();
    const misses = [cache.get(upstream.fetch), cache.get(upstream.fetch)];
    upstream.answer(['a']);
    expect((await Promise.all(misses)).map(names)).toEqual([['a'], ['a']]);
    const refreshes = [cache.refresh(upstream.fetch), cache.refresh(upstream.fetch)];
    upstream.answer(['b']);
    expect((await Promise.all(refreshes)).map(names)).toEqual([['b'], ['b']]);
    expect(upstream.asked).toBe(2);
  });

  it('never keeps a list fetched before an invalidation (list_changed arriving mid-fetch)', async () => {
    const cache = createToolListCache(60_000);
    const upstream = upstreamList();
    const before = cache.get(upstream.fetch);
    cache.invalidate();
    upstream.answer(['old']);
    expect(names(await before)).toEqual(['old']);
    const after = cache.get(upstream.fetch);
    upstream.answer(['new']);
    expect(names(await after)).toEqual(['new']);
    expect(names(await cache.get(upstream.fetch))).toEqual(['new']);
    expect(upstream.asked).toBe(2);
  });

  it('a failed fetch is not held: the next caller asks again', async () => {
    const cache = createToolListCache(60_000);
    let asked = 0;
    await expect(cache.get(async () => (asked++, Promise.reject(new Error('down'))))).rejects.toThrow('down');
    expect(names(await cache.get(async () => (asked++, [tool('a')])))).toEqual(['a']);
    expect(asked).toBe(2);
  });
});
