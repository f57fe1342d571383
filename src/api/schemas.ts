import { z } from 'zod';
import { NAMESPACE_NAME_PATTERN } from '../core/namespaces/names.ts';

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
