import { createHash } from 'node:crypto';

const DOMAIN = 'switchboard/chain-revocation-id/v1\n';

/**
 * The revocation id of each attenuation block within its own chain: `<root id>/<digest>`, the
 * digest over the root id and every block id up to and including that block. A block appended
 * offline has an id its holder chose (maybe another token's), so revoking by such a token
 * revokes this id instead: it names one exact prefix of ids, so it ends that token and every
 * token made from it, never a sibling under the same root that merely shares a block id.
 * Ids are JSON-quoted and newline-separated, so no two chains of ids hash the same input.
 */
export function chainRevocationIds(rootId: string, blockIds: readonly string[]): string[] {
  if (blockIds.length === 0) return [];
  const prefix = createHash('sha256').update(DOMAIN).update(JSON.stringify(rootId));
  return blockIds.map((id) => `${rootId}/${prefix.update(`\n${JSON.stringify(id)}`).copy().digest('base64url')}`);
}
