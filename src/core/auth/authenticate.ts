import { AppError } from '../../errors.ts';
import type { AccountPrincipal, ApiKeyVerifier } from '../accounts/api-keys.ts';
import { looksLikeServiceToken, type TokenPrincipal, type TokenService } from '../tokens/service-tokens.ts';

export type Principal = AccountPrincipal | TokenPrincipal;

export type Authenticator = {
  /** Resolves the bearer credential to whoever it belongs to, or throws `unauthorized`. */
  authenticate(bearer: string | undefined): Promise<Principal>;
};

const tokenRefusals = {
  malformed: 'Invalid service token',
  bad_signature: 'Invalid service token',
  expired: 'This service token has expired',
  revoked: 'This service token has been revoked',
} as const;

export function createAuthenticator(apiKeys: ApiKeyVerifier, tokens: TokenService): Authenticator {
  return {
    async authenticate(bearer) {
      if (!bearer) throw new AppError('unauthorized', 'Missing bearer token: send Authorization: Bearer <API key or service token>');
      if (looksLikeServiceToken(bearer)) {
        const result = tokens.verify(bearer);
        if (!result.ok) throw new AppError('unauthorized', tokenRefusals[result.reason]);
        return result.principal;
      }
      const result = await apiKeys.verify(bearer);
      if (!result.ok) {
        throw new AppError('unauthorized', result.reason === 'revoked' ? 'This API key has been revoked' : 'Invalid API key');
      }
      return result.principal;
    },
  };
}
