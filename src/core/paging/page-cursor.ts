import type { PagePosition } from '../../db/queries/keyset-page.ts';
import { AppError } from '../../errors.ts';

/**
 * The opaque `cursor` / `nextCursor` of every list that pages by (time, id): the last row's
 * position, as base64url JSON. Clients pass it back as they got it.
 */
export function encodePageCursor(position: PagePosition): string {
  return Buffer.from(JSON.stringify([position.at.toISOString(), position.id]), 'utf8').toString('base64url');
}

/**
 * The position a cursor names, accepting only what this server could have issued: a plausible
 * time and an id of the listed kind (`isListedId`). Anything else is a `validation_error`.
 */
export function decodePageCursor(cursor: string, isListedId: (id: string) => boolean): PagePosition {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const date = new Date(String(at));
    const year = date.getUTCFullYear();
    if (typeof at === 'string' && typeof id === 'string' && isListedId(id) && year >= 1970 && year <= 9999) {
      return { at: date, id };
    }
  } catch {
    // Falls through to the error below.
  }
  throw new AppError('validation_error', 'cursor is not one this server returned: pass nextCursor from the previous page as it is');
}
