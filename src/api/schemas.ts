import { z } from 'zod';
import { NAMESPACE_NAME_PATTERN } from '../core/namespaces/names.ts';
import { isStorableText } from '../core/storable-text.ts';

/**
 * A string that may reach a PostgreSQL text column or query: PostgreSQL refuses NUL, and an
 * unpaired surrogate would be stored as U+FFFD (another string than the one given). Refused
 * here with 400, never found out by the database.
 */
export const storableText = (max: number, min?: number) =>
  (min === undefined ? z.string() : z.string().min(min)).max(max).refine(isStorableText, 'must not contain NUL characters or unpaired surrogates');

/**
 * An ISO 8601 time the database can compare: years 0001 to 9999 once in UTC. The format alone
 * admits year 0000 (PostgreSQL has none) and offsets that push a time past either end.
 */
export const isoTimestampParam = z.iso
  .datetime({ offset: true })
  .refine((value) => {
    const year = new Date(value).getUTCFullYear();
    return year >= 1 && year <= 9999;
  }, 'must be a time from the year 0001 to 9999 (UTC)');

/** Response fields are listed explicitly, so nothing stored can slip into an answer. */
export const namespaceSchema = z
  .object({
    name: z.string().meta({ example: 'brave-otter-4f2a' }),
    createdAt: z.iso.datetime().meta({ description: 'When the namespace was created (ISO 8601)' }),
  })
  .meta({ id: 'Namespace' });

export const namespaceNameParam = z
  .string()
  .regex(NAMESPACE_NAME_PATTERN, 'A namespace name is 3 to 39 characters of lowercase letters, digits and hyphens')
  .meta({ description: 'Namespace name: 3 to 39 lowercase letters, digits and hyphens' });
