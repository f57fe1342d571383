import { sql, type RawBuilder, type SqlBool } from 'kysely';

/** Where a page of a list ordered by (time, id) ended: its last row's sort keys. */
export type PagePosition = { at: Date; id: string };

/**
 * The rows past `position` in a list ordered by (`columns.time`, `columns.id`), both ascending or
 * both descending: later rows, or earlier ones. The id breaks ties between rows of the same
 * instant, so no row is skipped or shown twice across pages.
 */
export function pastPosition(
  columns: { time: string; id: string },
  order: 'asc' | 'desc',
  position: PagePosition,
): RawBuilder<SqlBool> {
  const beyond = sql.raw(order === 'asc' ? '>' : '<');
  const time = sql.ref(columns.time);
  const id = sql.ref(columns.id);
  return sql<SqlBool>`(${time} ${beyond} ${position.at} or (${time} = ${position.at} and ${id} ${beyond} ${position.id}))`;
}
