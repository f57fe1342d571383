/**
 * Text the database can store: PostgreSQL text and jsonb hold no NUL character, and JSON
 * holds no unpaired UTF-16 surrogate. Anything else is refused up front (400), never
 * discovered by the database (500).
 */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}

/** The path (`a.b.0`) of the first key or string in `value` that is not storable text. */
export function findUnstorableText(value: unknown, path: string[] = []): string | undefined {
  if (typeof value === 'string') return isStorableText(value) ? undefined : path.join('.') || '(value)';
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (!isStorableText(key)) return [...path, '(a key)'].join('.');
    const found = findUnstorableText(item, [...path, key]);
    if (found) return found;
  }
  return undefined;
}
