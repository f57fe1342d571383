import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { countPatterns, MAX_PATTERNS_PER_TOKEN, storedConstraint, type Constraint } from './constraints.ts';
import { isStorableText } from '../storable-text.ts';

/**
 * Service tokens are macaroon-style chains: `sbt_<block0>.<block1>…<blockN>.<signature>`,
 * each block base64url JSON. The first block says who minted it and what it may do; every
 * later block can only narrow it (a request must satisfy every block). The signature is an
 * HMAC chain — sig₀ = HMAC(key, block₀), sigᵢ = HMAC(sigᵢ₋₁, blockᵢ) — so anyone holding a
 * token can append a block offline (narrowing it), nobody can remove one, and verifying
 * takes a few HMACs and no database.
 */
export const TOKEN_PREFIX = 'sbt_';
const DOMAIN = 'switchboard/service-token/v1\n';
export const MAX_BLOCKS = 16;
const MAX_TOKEN_LENGTH = 16 * 1024;

export type RootBlock = {
  /** Id of the key (from the master secret) the chain starts from. */
  kid: string;
  id: string;
  /** The account whose reach the token draws on. */
  acc: string;
  iat: number;
  exp: number;
  /** null: the account's full reach. */
  policy: Constraint[] | null;
};

export type AttenuationBlock = { id: string; exp: number; policy: Constraint[] };

/**
 * A block id reaches database lookups and rows (revocations, parents): whoever appends a block
 * offline chooses it, so it must be text PostgreSQL can hold.
 */
const blockId = z.string().refine(isStorableText);

const rootBlock = z
  .object({
    kid: z.string(),
    id: blockId,
    acc: z.string(),
    iat: z.number(),
    exp: z.number(),
    policy: z.array(storedConstraint).min(1).nullable(),
  })
  .strict();
const attenuationBlock = z.object({ id: blockId, exp: z.number(), policy: z.array(storedConstraint).min(1) }).strict();

export type ParsedToken = { root: RootBlock; attenuations: AttenuationBlock[] };

type Split = { encodedBlocks: string[]; signature: Buffer };

function split(token: string): Split | undefined {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > MAX_TOKEN_LENGTH) return undefined;
  const parts = token.slice(TOKEN_PREFIX.length).split('.');
  if (parts.length < 2 || parts.length > MAX_BLOCKS + 1 || parts.some((part) => !/^[A-Za-z0-9_-]+$/.test(part))) return undefined;
  const encodedSignature = parts.pop()!;
  const signature = Buffer.from(encodedSignature, 'base64url');
  // One spelling per token: unused low bits in the last character must be zero.
  if (signature.length !== 32 || signature.toString('base64url') !== encodedSignature) return undefined;
  return { encodedBlocks: parts, signature };
}

function chain(key: Buffer, encodedBlocks: string[]): Buffer {
  let signature = createHmac('sha256', key).update(DOMAIN).update(encodedBlocks[0]!).digest();
  for (const block of encodedBlocks.slice(1)) signature = createHmac('sha256', signature).update(block).digest();
  return signature;
}

function encodeBlock(block: RootBlock | AttenuationBlock): string {
  return Buffer.from(JSON.stringify(block), 'utf8').toString('base64url');
}

function decodeJson(encoded: string): unknown {
  try {
    return JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

export class TokenTooLargeError extends Error {
  override name = 'TokenTooLargeError';
}

export function mintToken(key: Buffer, root: RootBlock): string {
  const encoded = encodeBlock(root);
  return withinLimits(`${TOKEN_PREFIX}${encoded}.${chain(key, [encoded]).toString('base64url')}`);
}

/** A token nobody could use is refused when it is made, not each time it is presented. */
function withinLimits(token: string): string {
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenTooLargeError(`The token would be longer than ${MAX_TOKEN_LENGTH} characters`);
  return token;
}

/** Appends a narrowing block. Needs no key: a token holder can do it offline. */
export function attenuateToken(token: string, block: AttenuationBlock): string {
  const parts = split(token);
  if (!parts) throw new Error('Not a service token');
  if (parts.encodedBlocks.length >= MAX_BLOCKS) throw new Error(`A token holds at most ${MAX_BLOCKS} blocks`);
  const encoded = encodeBlock(block);
  const signature = createHmac('sha256', parts.signature).update(encoded).digest();
  return withinLimits(`${TOKEN_PREFIX}${[...parts.encodedBlocks, encoded].join('.')}.${signature.toString('base64url')}`);
}

/** The key id a token claims, read before its signature is checked (to pick the key). */
export function claimedKeyId(token: string): string | undefined {
  const parts = split(token);
  const root = parts && (decodeJson(parts.encodedBlocks[0]!) as { kid?: unknown } | undefined);
  return typeof root?.kid === 'string' ? root.kid : undefined;
}

export type TokenCheck = { ok: true; token: ParsedToken } | { ok: false; reason: 'malformed' | 'bad_signature' };

/** Checks the signature chain with `key`, then the blocks' shapes. Expiry and revocation are the caller's. */
export function openToken(token: string, key: Buffer): TokenCheck {
  const parts = split(token);
  if (!parts) return { ok: false, reason: 'malformed' };
  if (!timingSafeEqual(chain(key, parts.encodedBlocks), parts.signature)) return { ok: false, reason: 'bad_signature' };
  const root = rootBlock.safeParse(decodeJson(parts.encodedBlocks[0]!));
  const attenuations = parts.encodedBlocks.slice(1).map((encoded) => attenuationBlock.safeParse(decodeJson(encoded)));
  if (!root.success || attenuations.some((block) => !block.success)) return { ok: false, reason: 'malformed' };
  const parsed: ParsedToken = { root: root.data, attenuations: attenuations.map((block) => block.data!) };
  const patterns = countPatterns(parsed.root.policy) + parsed.attenuations.reduce((sum, block) => sum + countPatterns(block.policy), 0);
  if (patterns > MAX_PATTERNS_PER_TOKEN) return { ok: false, reason: 'malformed' };
  return { ok: true, token: parsed };
}
