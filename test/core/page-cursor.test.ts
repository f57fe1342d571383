import { describe, expect, it } from 'vitest';
import { decodePageCursor, encodePageCursor } from '../../src/core/paging/page-cursor.ts';
import { AppError } from '../../src/errors.ts';

const isListedId = (id: string) => /^item_[a-z]+$/.test(id);
const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

describe('page cursors (the opaque nextCursor of every keyset-paged list)', () => {
  it('gives back the position it was made from', () => {
    const position = { at: new Date('2026-03-04T05:06:07.089Z'), id: 'item_abc' };
    expect(decodePageCursor(encodePageCursor(position), isListedId)).toEqual(position);
  });

  it.each([
    ['not base64url JSON', '%%%'],
    ['JSON that is not a pair', cursorOf({ at: '2026-01-01T00:00:00Z', id: 'item_abc' })],
    ['an id of another kind', cursorOf(['2026-01-01T00:00:00.000Z', 'other_abc'])],
    ['a time that is no time', cursorOf(['yesterday', 'item_abc'])],
    ['a time past year 9999', cursorOf(['+010000-01-01T00:00:00.000Z', 'item_abc'])],
    ['a number for the time', cursorOf([0, 'item_abc'])],
  ])('refuses %s as a validation error', (_label, cursor) => {
    let thrown: unknown;
    try {
      decodePageCursor(cursor, isListedId);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).code).toBe('validation_error');
  });
});
