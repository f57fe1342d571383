import type { AnyTRPCRouter } from '@trpc/server';
import type { Meta } from './trpc.ts';

/** Each procedure's dotted path (e.g. `namespaces.set`) with the meta it declared. */
export function procedureMetas(router: AnyTRPCRouter): Map<string, Meta> {
  const procedures = router._def.procedures as Record<string, { _def: { meta?: Meta } }>;
  return new Map(Object.entries(procedures).map(([path, procedure]) => [path, procedure._def.meta ?? {}]));
}
