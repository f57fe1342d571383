import { AppError, RateLimitedError } from '../../errors.ts';
import type { AccountPrincipal, ApiKeyVerifier } from '../accounts/api-keys.ts';
import { looksLikeServiceToken, type TokenPrincipal, type TokenService } from '../tokens/service-tokens.ts';
import type { FailedAuthLimiter } from './failed-auth-limiter.ts';

export type Principal = AccountPrincipal | TokenPrincipal;

export type Authenticator = {
  /**
   * Resolves the bearer credential to whoever it belongs to, or throws `unauthorized`; from a
   * `client` address over its failed-authentication limit, `rate_limited` (RateLimitedError).
   */
  authenticate(bearer: string | undefined, client?: string): Promise<Principal>;
};

const tokenRefusals = {
  malformed: 'Invalid service token',
  bad_signature: 'Invalid service token',
  expired: 'This service token has expired',
  revoked: 'This service token has been revoked',
} as const;

/**
 * Every failed credential counts against its client address. Once the address is over its
 * limit, only what this process can check in memory is checked: a service token (its
 * signature), an API key whose row is cached. Those still succeed, so a client sharing the
 * address with a flood (behind one NAT or proxy) keeps working while its key is warm;
 * everything else is refused 429 unchecked, so the flood costs no database query and learns
 * nothing. A success does not reset the count: an attacker holding one valid key must not be
 * able to buy fresh guesses with it.
 */
export function createAuthenticator(apiKeys: ApiKeyVerifier, tokens: TokenService, failures?: FailedAuthLimiter): Authenticator {
  return {
    async authenticate(bearer, client) {
      if (!bearer) throw new AppError('unauthorized', 'Missing bearer token: send Authorization: Bearer <API key or service token>');
      const blockedMs = client !== undefined && failures ? failures.blockedForMs(client) : 0;
      if (blockedMs > 0) {
        const result = looksLikeServiceToken(bearer) ? tokens.verify(bearer) : apiKeys.verifyCached(bearer);
        if (result?.ok) return result.principal;
        throw new RateLimitedError(
          `Too many failed authentications from this address; try again in ${Math.ceil(blockedMs / 1000)} s`,
          blockedMs,
        );
      }
      // Counted against the address, then thrown.
      const refused = (message: string) => {
        if (client !== undefined) failures?.recordFailure(client);
        return new AppError('unauthorized', message);
      };
      if (looksLikeServiceToken(bearer)) {
        const result = tokens.verify(bearer);
        if (result.ok) return result.principal;
        throw refused(tokenRefusals[result.reason]);
      }
      const result = await apiKeys.verify(bearer);
      if (result.ok) return result.principal;
      throw refused(result.reason === 'revoked' ? 'This API key has been revoked' : 'Invalid API key');
    },
  };
}
