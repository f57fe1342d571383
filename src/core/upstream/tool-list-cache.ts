import type { Tool } from '@modelcontextprotocol/client';

/** A tool list, and whether this very request fetched it (a fresh list is not worth refreshing again). */
export type ListedTools = { tools: Tool[]; fetched: boolean };

/**
 * The tool list of one upstream session, so that a call needs no `tools/list` before its
 * `tools/call`. It lives and dies with its session: the pool opens a new session (and with it
 * an empty list) for another incarnation or revision of a connection, so a connection deleted
 * and created again never sees the old one's tools.
 *
 * The list goes stale after `ttlMs`, on the upstream's `notifications/tools/list_changed`
 * (`invalidate`), or when a caller finds it wrong (asks with `refresh`). Serving a stale list
 * is safe: it only names tools; a tool the upstream no longer has answers "unknown tool",
 * which makes the caller refresh.
 */
export type ToolListCache = {
  /** The held list while fresh, else one fetch shared by every caller waiting for it. */
  get(fetchList: () => Promise<Tool[]>): Promise<ListedTools>;
  /** A list fetched after this call: a refresh already under way is shared, nothing older is. */
  refresh(fetchList: () => Promise<Tool[]>): Promise<ListedTools>;
  /** The held list while fresh, without fetching one. */
  fresh(): Tool[] | undefined;
  invalidate(): void;
};

export function createToolListCache(ttlMs: number, now: () => number = Date.now): ToolListCache {
  let held: { tools: Tool[]; expiresAt: number } | undefined;
  let pending: { generation: number; list: Promise<Tool[]>; refreshing: boolean } | undefined;
  // Bumped by every invalidation: a fetch that started before one must not store what it got.
  let generation = 0;

  async function fetchShared(fetchList: () => Promise<Tool[]>, refreshing: boolean): Promise<ListedTools> {
    if (pending?.generation !== generation) {
      const started = { generation, list: fetchList(), refreshing };
      pending = started;
      started.list.then(
        (tools) => {
          if (pending === started) pending = undefined;
          if (started.generation === generation) held = { tools, expiresAt: now() + ttlMs };
        },
        () => {
          if (pending === started) pending = undefined;
        },
      );
    }
    return { tools: await pending.list, fetched: true };
  }

  return {
    async get(fetchList) {
      if (held && held.expiresAt > now()) return { tools: held.tools, fetched: false };
      return fetchShared(fetchList, false);
    },
    refresh(fetchList) {
      // A refresh still running started after whatever list this caller saw: its answer will do.
      if (!(pending?.refreshing && pending.generation === generation)) {
        generation++;
        held = undefined;
      }
      return fetchShared(fetchList, true);
    },
    fresh() {
      return held && held.expiresAt > now() ? held.tools : undefined;
    },
    invalidate() {
      generation++;
      held = undefined;
    },
  };
}
