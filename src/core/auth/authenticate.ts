import { AppError } from '../../errors.ts';
import type { AccountPrincipal, ApiKeyVerifier } from '../accounts/api-keys.ts';

export type Principal = AccountPrincipal;

export type Authenticator = {
  /** Resolves the bearer credential to whoever it belongs to, or throws `unauthorized`. */
  authenticate(bearer: string | undefined): Promise<Principal>;
};

export function createAuthenticator(apiKeys: ApiKeyVerifier): Authenticator {
  return {
    async authenticate(bearer) {
      if (!bearer) throw new AppError('unauthorized', 'Missing bearer token: send Authorization: Bearer <API key>');
      const result = await apiKeys.verify(bearer);
      if (!result.ok) {
        throw new AppError('unauthorized', result.reason === 'revoked' ? 'This API key has been revoked' : 'Invalid API key');
      }
      return result.principal;
    },
  };
}
