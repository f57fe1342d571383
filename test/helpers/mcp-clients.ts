import { expect } from 'vitest';
import type { TestServer } from './server.ts';

/** The text of a tool result's first content block. */
export function textOf(result: unknown): string {
  return (result as { content: { type: string; text: string }[] }).content[0]!.text;
}

/** Resolves with the first value `predicate` accepts among those pushed to `list` (now or later). */
export function eventually<T>(list: T[], predicate: (value: T) => boolean): Promise<T> {
  return new Promise((resolve) => {
    const check = setInterval(() => {
      const found = list.find(predicate);
      if (found !== undefined) {
        clearInterval(check);
        resolve(found);
      }
    }, 20);
  });
}

/** One connection per upstream URL in namespace `ns`, created by `key`: their ids, by the same names. */
export async function createConnectionsTo<K extends string>(server: TestServer, key: string, ns: string, urls: Record<K, string>): Promise<Record<K, string>> {
  const ids = {} as Record<K, string>;
  for (const which of Object.keys(urls) as K[]) {
    const response = await server.request(`/${ns}`, {
      method: 'POST',
      bearer: key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mcpUrl: urls[which] }),
    });
    expect(response.status).toBe(201);
    ids[which] = ((await response.json()) as { connectionId: string }).connectionId;
  }
  return ids;
}
