import { AppError } from '../../errors.ts';
import { isConnectionId } from './connection-input.ts';

/**
 * How a connection list is asked for: metadata filters and the opaque cursor.
 *
 * Metadata filters arrive from query strings, so their values are strings; metadata is
 * free-form JSON, so `metadata.count=3` also matches the number 3 and `metadata.beta=true`
 * the boolean. Each filter is a list of alternatives, any one of which must be contained.
 */
export type MetadataFilter = Record<string, unknown>[];

export function metadataFilters(filters: Record<string, string | string[]>): MetadataFilter[] {
  return Object.entries(filters).map(([key, given]) => {
    const values = Array.isArray(given) ? given : [given];
    return values.flatMap((value) => {
      const alternatives: Record<string, unknown>[] = [{ [key]: value }];
      const scalar = parseJsonScalar(value);
      if (scalar !== undefined) alternatives.push({ [key]: scalar });
      return alternatives;
    });
  });
}

export function parseJsonScalar(value: string): number | boolean | null | undefined {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (value === 'null') return null;
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(value)) {
    const number = Number(value);
    return Number.isFinite(number) ? number : undefined;
  }
  return undefined;
}

export type ListPosition = { createdAt: Date; id: string };

export function encodeCursor(position: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): ListPosition {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const date = new Date(String(createdAt));
    // Only what this server could have issued: a real connection id, a plausible time.
    const year = date.getUTCFullYear();
    if (typeof createdAt === 'string' && typeof id === 'string' && isConnectionId(id) && year >= 1970 && year <= 9999) {
      return { createdAt: date, id };
    }
  } catch {
    // Falls through to the error below.
  }
  throw new AppError('validation_error', 'cursor is not one this server returned: pass nextCursor from the previous page as it is');
}
