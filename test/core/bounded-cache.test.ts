import { describe, expect, it } from 'vitest';
import { createBoundedCache } from '../../src/core/cache/bounded-cache.ts';

describe('bounded cache', () => {
  it('keeps what was used recently when it must shed entries', () => {
    const cache = createBoundedCache<number, string>({ maxEntries: 10, maxAgeMs: 60_000 });
    for (let i = 0; i < 10; i++) cache.set(i, `v${i}`);
    cache.get(0);
    cache.get(1);
    cache.set(10, 'v10');
    // The least recently used tenth went (one entry here), never a recently read one.
    expect(cache.size).toBe(9);
    expect(cache.get(0)).toBe('v0');
    expect(cache.get(1)).toBe('v1');
    expect(cache.get(10)).toBe('v10');
    expect(cache.get(2)).toBeUndefined();
  });

  it('expires entries after their maximum age', () => {
    let now = 1_000;
    const cache = createBoundedCache<string, number>({ maxEntries: 10, maxAgeMs: 100, now: () => now });
    cache.set('a', 1);
    now += 99;
    expect(cache.get('a')).toBe(1);
    now += 1;
    expect(cache.get('a')).toBeUndefined();
  });

  it('shares one load among concurrent callers, and does not cache a miss', async () => {
    const cache = createBoundedCache<string, number>({ maxEntries: 10, maxAgeMs: 60_000 });
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return 42;
    };
    expect(await Promise.all([cache.getOrLoad('k', load), cache.getOrLoad('k', load), cache.getOrLoad('k', load)])).toEqual([42, 42, 42]);
    expect(loads).toBe(1);
    expect(await cache.getOrLoad('missing', async () => undefined)).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('does not store a load that started before an invalidation (it may predate the change)', async () => {
    const cache = createBoundedCache<string, string>({ maxEntries: 10, maxAgeMs: 60_000 });
    let release!: (value: string) => void;
    const pending = cache.getOrLoad('k', () => new Promise<string>((resolve) => (release = resolve)));
    cache.delete('k');
    release('stale');
    expect(await pending).toBe('stale');
    expect(cache.get('k')).toBeUndefined();
  });

  it('drops entries by predicate and all at once', () => {
    const cache = createBoundedCache<string, number>({ maxEntries: 10, maxAgeMs: 60_000 });
    cache.set('ns-a/1', 1);
    cache.set('ns-a/2', 2);
    cache.set('ns-b/1', 3);
    cache.deleteWhere((key) => key.startsWith('ns-a/'));
    expect(cache.size).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
