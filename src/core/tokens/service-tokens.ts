import type { Db } from '../../db/open.ts';
import { findServiceToken, findServiceTokenLineage, insertServiceToken, revokeServiceToken } from '../../db/queries/service-tokens.ts';
import { AppError } from '../../errors.ts';
import { SYSTEM_ACTOR, type AuditActor } from '../audit/audit-event-types.ts';
import { recordAuditEvent } from '../audit/record-audit-event.ts';
import { createBoundedCache, type CacheStats } from '../cache/bounded-cache.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { randomBase32 } from '../ids.ts';
import { countPatterns, MAX_PATTERNS_PER_TOKEN, normalizePolicy, type Constraint, type constraintInput } from './constraints.ts';
import type { Blocks } from './policy.ts';
import type { RevocationList } from './revocations.ts';
import { chainRevocationIds } from './chain-revocation-ids.ts';
import { attenuateToken, claimedKeyId, MAX_BLOCKS, mintToken, openToken, TOKEN_PREFIX, TokenTooLargeError, type ParsedToken } from './token-format.ts';
import type { z } from 'zod';
import { isStorableText } from '../storable-text.ts';

export type TokenPrincipal = {
  kind: 'token';
  accountId: string;
  /** Every id in the chain, root first: revoking any of them revokes this token. */
  tokenIds: readonly string[];
  blocks: Blocks;
  expiresAt: number;
};

export type TokenVerification =
  | { ok: true; principal: TokenPrincipal }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' | 'revoked' };

export type MintedToken = { token: string; expiresAt: string };

/** The key a chain starts from: one per master secret, so rotation keeps old tokens valid. */
const SIGNING_PURPOSE = 'service-token-signing';

export function looksLikeServiceToken(bearer: string): boolean {
  return bearer.startsWith(TOKEN_PREFIX);
}

export type TokenService = {
  verify(token: string): TokenVerification;
  /** A token for the caller: from an API key, the account's reach narrowed by `policy`; from a token, that token narrowed further. */
  mint(
    caller: { accountId: string; apiKeyId?: string; parentToken?: string; requestId?: string },
    policy: z.output<typeof constraintInput>[] | undefined,
  ): Promise<MintedToken>;
  /** `by` names the caller for the audit log (Switchboard itself when left out). */
  revoke(accountId: string, target: { id: string } | { token: string }, by?: { actor: AuditActor; requestId?: string }): Promise<{ id: string }>;
  readonly cacheStats: CacheStats;
};

export function createTokenService(db: Db, keyring: Keyring, revocations: RevocationList, changes: ChangeFeed): TokenService {
  // Opening a token is a few HMACs and JSON parses; a token is used many times, so the
  // opened form is kept (expiry and revocation are still checked on every use).
  const opened = createBoundedCache<string, ParsedToken | null>({ maxEntries: 10_000, maxAgeMs: 10 * 60_000 });
  // Every id that revokes an opened token: a SHA-256 per block, so computed once per opened token.
  const revocableIds = new WeakMap<ParsedToken, readonly string[]>();

  function revocableIdsOf(token: ParsedToken): readonly string[] {
    let ids = revocableIds.get(token);
    if (!ids) {
      const blockIds = token.attenuations.map((block) => block.id);
      ids = [token.root.id, ...blockIds, ...chainRevocationIds(token.root.id, blockIds)];
      revocableIds.set(token, ids);
    }
    return ids;
  }

  function open(token: string): { ok: true; token: ParsedToken } | { ok: false; reason: 'malformed' | 'bad_signature' } {
    const cached = opened.get(token);
    if (cached !== undefined) return cached ? { ok: true, token: cached } : { ok: false, reason: 'bad_signature' };
    const kid = claimedKeyId(token);
    if (!kid) return { ok: false, reason: 'malformed' };
    if (!keyring.keyIds.includes(kid)) return { ok: false, reason: 'bad_signature' };
    const result = openToken(token, keyring.deriveKey(SIGNING_PURPOSE, kid));
    if (result.ok) opened.set(token, result.token);
    else if (result.reason === 'bad_signature') opened.set(token, null);
    return result;
  }

  function verify(token: string): TokenVerification {
    const result = open(token);
    if (!result.ok) return result;
    const { root, attenuations } = result.token;
    const expiresAt = Math.min(root.exp, ...attenuations.map((block) => block.exp));
    if (expiresAt * 1000 <= Date.now()) return { ok: false, reason: 'expired' };
    const tokenIds = [root.id, ...attenuations.map((block) => block.id)];
    if (revocations.isRevoked(revocableIdsOf(result.token))) return { ok: false, reason: 'revoked' };
    return {
      ok: true,
      principal: { kind: 'token', accountId: root.acc, tokenIds, blocks: [root.policy, ...attenuations.map((b) => b.policy)], expiresAt },
    };
  }

  return {
    cacheStats: opened.stats,
    verify,

    async mint(caller, policyInput) {
      const apiKeyId = caller.parentToken ? null : (caller.apiKeyId ?? null);
      const patterns = countPatterns(normalizePolicy(policyInput).constraints);
      if (patterns > MAX_PATTERNS_PER_TOKEN) {
        throw new AppError('validation_error', `A token may hold at most ${MAX_PATTERNS_PER_TOKEN} rpcReqMatch patterns in all`);
      }
      const { constraints, ttlSeconds } = normalizePolicy(policyInput);
      const now = Math.floor(Date.now() / 1000);
      const id = `tok_${randomBase32(10)}`;
      let token: string;
      let exp = now + ttlSeconds;
      let parentId: string | null = null;
      try {
        if (caller.parentToken) {
          const parent = verify(caller.parentToken);
          if (!parent.ok) throw new AppError('unauthorized', 'The token is no longer valid');
          if (parent.principal.tokenIds.length >= MAX_BLOCKS) {
            throw new AppError(
              'validation_error',
              `This token already holds ${MAX_BLOCKS} blocks, the most a token may: mint from a token with fewer blocks, or from an API key`,
            );
          }
          // A child never outlives its parent, and its policy only adds a block: intersection.
          exp = Math.min(exp, parent.principal.expiresAt);
          parentId = parent.principal.tokenIds.at(-1)!;
          const inherited = parent.principal.blocks.reduce((sum, block) => sum + countPatterns(block), 0);
          if (inherited + patterns > MAX_PATTERNS_PER_TOKEN) {
            throw new AppError('validation_error', `A token may hold at most ${MAX_PATTERNS_PER_TOKEN} rpcReqMatch patterns in all`);
          }
          token = attenuateToken(caller.parentToken, { id, exp, policy: constraints ?? [{}] });
        } else {
          token = mintToken(keyring.deriveKey(SIGNING_PURPOSE), {
            kid: keyring.currentKeyId,
            id,
            acc: caller.accountId,
            iat: now,
            exp,
            policy: constraints,
          });
        }
      } catch (error) {
        if (error instanceof TokenTooLargeError) throw new AppError('validation_error', `${error.message}: narrow the policy`);
        throw error;
      }
      const expiresAt = new Date(exp * 1000).toISOString();
      const actor: AuditActor = parentId ? { type: 'service_token', id: parentId } : apiKeyId ? { type: 'api_key', id: apiKeyId } : SYSTEM_ACTOR;
      await db.transaction().execute(async (tx) => {
        await insertServiceToken(tx, { id, accountId: caller.accountId, parentId, apiKeyId, expiresAt: new Date(exp * 1000) });
        await recordAuditEvent(tx, {
          type: 'token.minted',
          accountId: caller.accountId,
          actor,
          requestId: caller.requestId,
          details: { tokenId: id, parentTokenId: parentId, expiresAt, policy: constraints && constraints.map(summarizeConstraint) },
        });
      });
      return { token, expiresAt };
    },

    async revoke(accountId, target, by = { actor: SYSTEM_ACTOR }) {
      let id: string;
      let expiresAt: Date;
      if ('token' in target) {
        const result = open(target.token);
        // Someone else's token, or none at all: nothing of ours to revoke.
        if (!result.ok || result.token.root.acc !== accountId) throw new AppError('not_found', 'No such token of this account');
        const { root, attenuations } = result.token;
        expiresAt = new Date(Math.min(root.exp, ...attenuations.map((b) => b.exp)) * 1000);
        id = await ownRevocationId(db, accountId, result.token);
      } else {
        // Text the database cannot take (NUL) names no token.
        if (!isStorableText(target.id)) throw new AppError('not_found', 'No token with this id');
        const row = await findServiceToken(db, target.id);
        if (!row || row.account_id !== accountId) throw new AppError('not_found', `No token with id ${target.id}`);
        id = row.id;
        expiresAt = row.expires_at;
      }
      const revokedId = id;
      await db.transaction().execute(async (tx) => {
        if (!(await revokeServiceToken(tx, { id: revokedId, accountId, expiresAt }))) throw new AppError('not_found', 'No such token of this account');
        await recordAuditEvent(tx, { type: 'token.revoked', accountId, actor: by.actor, requestId: by.requestId, details: { tokenId: revokedId } });
      });
      await changes.announce({ kind: 'token_revoked', id });
      return { id };
    },
  };
}

/**
 * What revoking by `token` revokes: an id of that token's own. The root, or the last block
 * when the server minted every block of the chain (each one's row names the block before it as
 * its parent). Any block appended offline has an id its holder chose, maybe another token's:
 * then the id of this exact chain of ids (chainRevocationIds), which ends this token and those
 * made from it, never a sibling under the same root nor a token of another chain. (A forged
 * block can copy the id of a token the server minted from the same chain; revoking it then ends
 * that token, which descends from the token its holder already has: revoking that would too.)
 */
async function ownRevocationId(db: Db, accountId: string, token: ParsedToken): Promise<string> {
  const { root, attenuations } = token;
  const last = attenuations.at(-1);
  if (!last) return root.id;
  const rows = new Map((await findServiceTokenLineage(db, attenuations.map((block) => block.id))).map((row) => [row.id, row]));
  let previous = root.id;
  for (const block of attenuations) {
    const row = rows.get(block.id);
    if (!row || row.account_id !== accountId || row.parent_id !== previous) return chainRevocationIds(root.id, attenuations.map((b) => b.id)).at(-1)!;
    previous = block.id;
  }
  return last.id;
}

/** What the audit log keeps of a policy: its shape, with the paths of rpcReqMatch but not their patterns. */
function summarizeConstraint(constraint: Constraint) {
  const { rpcReqMatch, ...rest } = constraint;
  return { ...rest, ...(rpcReqMatch ? { rpcReqMatchPaths: Object.keys(rpcReqMatch) } : {}) };
}
