/**
 * Whether a parsed JSON value nests objects and arrays deeper than `max`. Iterative on purpose:
 * the values come from callers, and a recursive walk (or JSON.stringify) of 20,000 nested
 * arrays overflows the stack. tRPC parses its bodies itself, so core checks what it stores or
 * forwards, whatever surface it came from.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

/** Deep enough for any real metadata or tool arguments; far from the stack's limit. */
export const MAX_JSON_DEPTH = 64;
