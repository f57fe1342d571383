/**
 * An in-process cache in front of the database: least recently used entries go first past
 * `maxEntries`, and every entry expires after `maxAgeMs` as a backstop should an
 * invalidation ever be missed. Concurrent loads of one key share a single query.
 */
export type BoundedCache<K, V> = {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  /** The cached value, or the loader's; `undefined` from the loader is not cached. */
  getOrLoad(key: K, load: () => Promise<V | undefined>): Promise<V | undefined>;
  delete(key: K): void;
  /** Drops every entry matching the predicate. */
  deleteWhere(predicate: (key: K, value: V) => boolean): void;
  clear(): void;
  readonly size: number;
};

export function createBoundedCache<K, V>(options: { maxEntries: number; maxAgeMs: number; now?: () => number }): BoundedCache<K, V> {
  const now = options.now ?? Date.now;
  const entries = new Map<K, { value: V; expiresAt: number }>();
  const loading = new Map<K, Promise<V | undefined>>();
  // Bumped by every invalidation: a load that started before one must not store its result,
  // which may predate the change.
  let epoch = 0;

  function get(key: K): V | undefined {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    // Re-insert to mark it most recently used.
    entries.delete(key);
    entries.set(key, entry);
    return entry.value;
  }

  function set(key: K, value: V): void {
    entries.delete(key);
    entries.set(key, { value, expiresAt: now() + options.maxAgeMs });
    if (entries.size > options.maxEntries) entries.delete(entries.keys().next().value as K);
  }

  function invalidated(): void {
    epoch++;
    loading.clear();
  }

  return {
    get,
    set,
    getOrLoad(key, load) {
      const hit = get(key);
      if (hit !== undefined) return Promise.resolve(hit);
      const pending = loading.get(key);
      if (pending) return pending;
      const startedIn = epoch;
      const promise = load().then(
        (value) => {
          if (loading.get(key) === promise) loading.delete(key);
          if (value !== undefined && startedIn === epoch) set(key, value);
          return value;
        },
        (error: unknown) => {
          if (loading.get(key) === promise) loading.delete(key);
          throw error;
        },
      );
      loading.set(key, promise);
      return promise;
    },
    delete(key) {
      invalidated();
      entries.delete(key);
    },
    deleteWhere(predicate) {
      invalidated();
      for (const [key, entry] of entries) if (predicate(key, entry.value)) entries.delete(key);
    },
    clear() {
      invalidated();
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
