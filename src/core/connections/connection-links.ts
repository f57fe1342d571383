import type { Keyring } from '../crypto/keyring.ts';
import { createAuthorizationLinks, type AuthorizationLinks } from '../oauth/authorization-links.ts';
import { createSetupLinks, type SetupLinks } from '../setup/setup-links.ts';

/** The links a connection's status carries: where to authorize the upstream, and the setup page. */
export type ConnectionLinks = AuthorizationLinks & SetupLinks;

export function createConnectionLinks(keyring: Keyring, config: { publicUrl: string; setupLinkTtlSeconds: number; oauthLinkTtlSeconds: number }): ConnectionLinks {
  return {
    ...createAuthorizationLinks(keyring, config.publicUrl, config.oauthLinkTtlSeconds),
    ...createSetupLinks(keyring, config.publicUrl, config.setupLinkTtlSeconds),
  };
}
