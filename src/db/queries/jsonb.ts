import { sql, type RawBuilder } from 'kysely';

/**
 * A value bound as jsonb. The JSON goes over the wire as text and is cast on the server:
 * postgres.js would otherwise encode a JSON string parameter a second time, storing a jsonb
 * string that no `@>` containment ever matches.
 */
export function jsonb(value: unknown): RawBuilder<string> {
  return sql<string>`cast(${JSON.stringify(value)}::text as jsonb)`;
}
