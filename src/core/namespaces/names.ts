import { randomBytes } from 'node:crypto';

/** Lowercase letters, digits and inner hyphens, 3 to 39 characters. */
export const NAMESPACE_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{1,37})[a-z0-9]$/;

/**
 * Names that would shadow a platform route when used as the first path segment, or that
 * would confuse people reading a URL.
 */
export const RESERVED_NAMESPACE_NAMES: ReadonlySet<string> = new Set([
  'health', 'namespaces', 'tokens', 'connect', 'oauth', 'docs', 'trpc', 'metrics', 'setup',
  'openapi', 'api', 'admin', 'auth', 'login', 'logout', 'callback', 'static', 'assets',
  'servers', 'skills', 'status', 'well-known', 'www', 'mcp', 'sse', 'v1', 'v2', 'internal',
  'system', 'root', 'switchboard', 'smithery', 'account', 'accounts', 'api-keys', 'keys',
  'settings', 'billing', 'dashboard', 'favicon', 'robots', 'null', 'undefined', 'oauth-clients',
  'audit', 'audit-events', 'audit-log',
]);

export type NameCheck = { ok: true } | { ok: false; reason: string };

export function checkNamespaceName(name: string): NameCheck {
  if (!NAMESPACE_NAME_PATTERN.test(name)) {
    return {
      ok: false,
      reason:
        'A namespace name is 3 to 39 characters of lowercase letters, digits and hyphens, and starts and ends with a letter or digit',
    };
  }
  if (RESERVED_NAMESPACE_NAMES.has(name)) return { ok: false, reason: `"${name}" is reserved` };
  return { ok: true };
}

const ADJECTIVES = [
  'amber', 'brave', 'bright', 'calm', 'clever', 'cosmic', 'crisp', 'daring', 'eager', 'fancy',
  'gentle', 'golden', 'happy', 'jolly', 'keen', 'lively', 'lucky', 'mellow', 'misty', 'nimble',
  'noble', 'proud', 'quick', 'quiet', 'rapid', 'rustic', 'silent', 'silver', 'sleek', 'snowy',
  'steady', 'sunny', 'swift', 'tidy', 'vivid', 'warm', 'wild', 'witty', 'zesty', 'bold',
] as const;

const ANIMALS = [
  'otter', 'falcon', 'badger', 'heron', 'lynx', 'panda', 'koala', 'raven', 'tiger', 'whale',
  'beaver', 'bison', 'crane', 'dingo', 'eagle', 'ferret', 'gecko', 'hare', 'ibis', 'jaguar',
  'lemur', 'marten', 'newt', 'ocelot', 'puffin', 'quail', 'robin', 'salmon', 'tapir', 'viper',
  'walrus', 'yak', 'zebra', 'alpaca', 'camel', 'dolphin', 'finch', 'gull', 'moose', 'orca',
] as const;

/** A human-readable name such as `brave-otter-4f2a`: 1,600 word pairs × 65,536 suffixes. */
export function generateNamespaceName(): string {
  const bytes = randomBytes(4);
  const adjective = ADJECTIVES[bytes[0]! % ADJECTIVES.length];
  const animal = ANIMALS[bytes[1]! % ANIMALS.length];
  return `${adjective}-${animal}-${bytes.subarray(2).toString('hex')}`;
}
