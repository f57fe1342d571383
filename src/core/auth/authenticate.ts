import type { Db } from '../../db/open.ts';
import { AppError } from '../../errors.ts';
import { verifyApiKey, type AccountPrincipal } from '../accounts/api-keys.ts';

export type Principal = AccountPrincipal;

/** Resolves the bearer credential to whoever it belongs to, or throws `unauthorized`. */
export async function authenticate(db: Db, bearer: string | undefined): Promise<Principal> {
  if (!bearer) throw new AppError('unauthorized', 'Missing bearer token: send Authorization: Bearer <API key>');
  const result = await verifyApiKey(db, bearer);
  if (!result.ok) {
    throw new AppError('unauthorized', result.reason === 'revoked' ? 'This API key has been revoked' : 'Invalid API key');
  }
  return result.principal;
}
