import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChangeFeed, type ChangeFeed } from '../../src/core/changes/change-feed.ts';
import { createKeyring } from '../../src/core/crypto/keyring.ts';
import { constraintInput, type Constraint } from '../../src/core/tokens/constraints.ts';
import { chainRevocationIds } from '../../src/core/tokens/chain-revocation-ids.ts';
import { loadRevocationList } from '../../src/core/tokens/revocations.ts';
import { createTokenService, type TokenService } from '../../src/core/tokens/service-tokens.ts';
import { attenuateToken, claimedKeyId, mintToken, openToken, TOKEN_PREFIX } from '../../src/core/tokens/token-format.ts';
import { migrateToLatest, openDb, type OpenDatabase } from '../../src/db/open.ts';
import { insertAccount } from '../../src/db/queries/accounts.ts';
import { AppError } from '../../src/errors.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * The token format (sbt_<block>….<signature>, an HMAC chain) against tampering, and the token
 * service around it (expiry, revocation, key rotation) on a real keyring and database.
 */
const SEED = 20_241;
/** read service-tokens.ts: the purpose the signing key is derived for. */
const SIGNING_PURPOSE = 'service-token-signing';
const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_BLOCKS = 16;

// ---- Tokens built directly with the format --------------------------------------------------

const POLICIES: Constraint[][] = [
  [{}],
  [{ namespaces: ['acme'] }],
  [{ metadata: [{ userId: 'alice' }], operations: ['read', 'execute'] }],
  [{ rpcReqMatch: { 'params.name': '^echo$' } }, { resources: ['namespaces'], operations: ['read'] }],
];
const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes));
const chainArb = fc.record({
  key: keyArb,
  rootPolicy: fc.option(fc.constantFrom(...POLICIES), { nil: null }),
  attenuations: fc.array(fc.constantFrom(...POLICIES), { maxLength: 3 }),
  exp: fc.integer({ min: 1, max: 4_000_000_000 }),
});
type Chain = { key: Buffer; rootPolicy: Constraint[] | null; attenuations: Constraint[][]; exp: number };

/** Every token of the chain, root first: tokens[i] has i attenuations. */
function build(chain: Chain): string[] {
  const tokens = [mintToken(chain.key, { kid: 'kid_a', id: 'tok_root', acc: 'acc_a', iat: 1_700_000_000, exp: chain.exp, policy: chain.rootPolicy })];
  chain.attenuations.forEach((policy, i) => tokens.push(attenuateToken(tokens.at(-1)!, { id: `tok_${i + 1}`, exp: chain.exp, policy })));
  return tokens;
}

function pieces(token: string): { blocks: string[]; signature: string } {
  const parts = token.slice(TOKEN_PREFIX.length).split('.');
  return { blocks: parts.slice(0, -1), signature: parts.at(-1)! };
}

function assemble(blocks: string[], signature: string): string {
  return `${TOKEN_PREFIX}${[...blocks, signature].join('.')}`;
}

/** Characters a mutation may write: the token alphabet, its separators and some that are not. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ é\u0000';
const mutationArb = fc.record({ at: fc.nat(), char: fc.constantFrom(...ALPHABET) });

describe('token format: a valid token opens, nothing else does', () => {
  it('a minted and attenuated token opens with its key and no other', () => {
    fc.assert(
      fc.property(chainArb, keyArb, (chain, otherKey) => {
        const token = build(chain).at(-1)!;
        expect(openToken(token, chain.key).ok).toBe(true);
        expect(claimedKeyId(token)).toBe('kid_a');
        if (!otherKey.equals(chain.key)) expect(openToken(token, otherKey)).toEqual({ ok: false, reason: 'bad_signature' });
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it.each([
    ['in the blocks, separators and prefix', (token: string) => token.length - pieces(token).signature.length],
    ['in the signature', (token: string) => pieces(token).signature.length],
  ])('a single changed character %s never opens', (where, span) => {
    fc.assert(
      fc.property(chainArb, mutationArb, (chain, { at, char }) => {
        const token = build(chain).at(-1)!;
        const start = where === 'in the signature' ? token.length - span(token) : 0;
        const i = start + (at % span(token));
        const mutated = token.slice(0, i) + char + token.slice(i + 1);
        if (mutated !== token) expect(openToken(mutated, chain.key).ok).toBe(false);
        // Inserting or deleting one character never opens either.
        expect(openToken(token.slice(0, i) + char + token.slice(i), chain.key).ok).toBe(false);
        expect(openToken(token.slice(0, i) + token.slice(i + 1), chain.key).ok).toBe(false);
      }),
      { seed: SEED, numRuns: 1_500 },
    );
  });

  it('no truncation opens', () => {
    fc.assert(
      fc.property(chainArb, (chain) => {
        const token = build(chain).at(-1)!;
        for (let length = 0; length < token.length; length++) expect(openToken(token.slice(0, length), chain.key).ok).toBe(false);
      }),
      { seed: SEED, numRuns: 40 },
    );
  });

  it('removing or reordering blocks never opens, whatever signature is kept', () => {
    fc.assert(
      fc.property(chainArb, fc.nat(), fc.nat(), (chain, x, y) => {
        fc.pre(chain.attenuations.length > 0);
        const tokens = build(chain);
        const token = tokens.at(-1)!;
        const { blocks, signature } = pieces(token);
        // Dropping any block (the last one included) under the final signature.
        const dropped = x % blocks.length;
        const stripped = assemble(blocks.filter((_, i) => i !== dropped), signature);
        expect(openToken(stripped, chain.key).ok).toBe(false);
        // Narrowing the stripped token again does not make it valid.
        expect(openToken(attenuateToken(stripped, { id: 'tok_again', exp: 1, policy: [{}] }), chain.key).ok).toBe(false);
        // The parent is valid by design, but the child does not carry its signature.
        const parentSignature = pieces(tokens.at(-2)!).signature;
        expect(openToken(tokens.at(-2)!, chain.key).ok).toBe(true);
        expect(token.includes(parentSignature)).toBe(false);
        // Swapping two different blocks.
        const [i, j] = [x % blocks.length, y % blocks.length];
        if (blocks[i] !== blocks[j]) {
          const swapped = [...blocks];
          [swapped[i], swapped[j]] = [swapped[j]!, swapped[i]!];
          expect(openToken(assemble(swapped, signature), chain.key).ok).toBe(false);
        }
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('anything at all is refused without throwing', () => {
    const base64url = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), minLength: 1, maxLength: 60 });
    const shaped = fc.array(base64url, { minLength: 1, maxLength: 5 }).map((parts) => `${TOKEN_PREFIX}${parts.join('.')}`);
    fc.assert(
      fc.property(fc.oneof(fc.string(), shaped), keyArb, (text, key) => {
        expect(openToken(text, key).ok).toBe(false);
        const kid = claimedKeyId(text);
        expect(kid === undefined || typeof kid === 'string').toBe(true);
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });

  it('a token longer than the limit is never minted, and is malformed when built by hand with a right signature', () => {
    const key = randomBytes(32);
    const byLength = new Map<number, string>();
    for (let pad = 11_900; pad < 12_400; pad++) {
      const root = { kid: 'k', id: 'tok_big', acc: 'acc', iat: 1, exp: 2, policy: [{ namespaces: ['x'.repeat(pad)] }] };
      const encoded = Buffer.from(JSON.stringify(root), 'utf8').toString('base64url');
      // The chain's first link, as token-format.ts computes it.
      const signature = createHmac('sha256', key).update('switchboard/service-token/v1\n').update(encoded).digest('base64url');
      const token = `sbt_${encoded}.${signature}`;
      byLength.set(token.length, token);
      if (token.length > MAX_TOKEN_LENGTH) expect(() => mintToken(key, root)).toThrow(/longer than/);
      else expect(mintToken(key, root)).toBe(token);
    }
    const lengths = [...byLength.keys()];
    // The pads were chosen to straddle the limit.
    expect(Math.min(...lengths)).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect(Math.max(...lengths)).toBeGreaterThan(MAX_TOKEN_LENGTH);
    const longestAllowed = byLength.get(Math.max(...lengths.filter((length) => length <= MAX_TOKEN_LENGTH)))!;
    const shortestTooLong = byLength.get(Math.min(...lengths.filter((length) => length > MAX_TOKEN_LENGTH)))!;
    expect(openToken(longestAllowed, key).ok).toBe(true);
    expect(openToken(shortestTooLong, key)).toEqual({ ok: false, reason: 'malformed' });
    expect(claimedKeyId(shortestTooLong)).toBeUndefined();
  });

  it('attenuating past the size limit is refused when attenuating, not left to fail on every use', () => {
    const key = randomBytes(32);
    const parent = mintToken(key, { kid: 'k', id: 'tok_near', acc: 'acc', iat: 1, exp: 2, policy: [{ namespaces: ['x'.repeat(11_900)] }] });
    expect(openToken(parent, key).ok).toBe(true);
    let child: string | undefined;
    try {
      child = attenuateToken(parent, { id: 'tok_over', exp: 2, policy: [{ namespaces: ['y'.repeat(500)] }] });
    } catch {
      return; // refused when attenuating: fine
    }
    expect(child.length).toBeGreaterThan(MAX_TOKEN_LENGTH);
    expect(openToken(child, key).ok).toBe(true);
  });

  it(`holds at most ${MAX_BLOCKS} blocks`, () => {
    const key = randomBytes(32);
    let token = mintToken(key, { kid: 'k', id: 'tok_0', acc: 'acc', iat: 1, exp: 2, policy: null });
    for (let i = 1; i < MAX_BLOCKS; i++) token = attenuateToken(token, { id: `tok_${i}`, exp: 2, policy: [{}] });
    expect(pieces(token).blocks).toHaveLength(MAX_BLOCKS);
    expect(openToken(token, key).ok).toBe(true);
    expect(() => attenuateToken(token, { id: 'tok_more', exp: 2, policy: [{}] })).toThrow();
    // A 17th block chained by hand, exactly as attenuateToken would: still refused.
    const extra = Buffer.from(JSON.stringify({ id: 'tok_more', exp: 2, policy: [{}] })).toString('base64url');
    const { blocks, signature } = pieces(token);
    const extended = assemble([...blocks, extra], createHmac('sha256', Buffer.from(signature, 'base64url')).update(extra).digest('base64url'));
    expect(openToken(extended, key)).toEqual({ ok: false, reason: 'malformed' });
  });
});

// ---- The token service: real keyring, real database ------------------------------------------

const OLD_SECRET = 'token-format-test-old-secret-0000000001';
const NEW_SECRET = 'token-format-test-new-secret-0000000002';
const ACCOUNT = 'acc_tokenformat';
const OTHER_ACCOUNT = 'acc_tokenformat_other';

let database: TestDatabase;
let opened: OpenDatabase;
let changes: ChangeFeed;

beforeAll(async () => {
  database = await createTestDatabase();
  opened = await openDb(database.target);
  await migrateToLatest(opened.db);
  await insertAccount(opened.db, { id: ACCOUNT, name: 'tokens' });
  await insertAccount(opened.db, { id: OTHER_ACCOUNT, name: 'other' });
  changes = await startChangeFeed(opened);
});
afterAll(async () => {
  await changes?.close();
  await opened?.close();
  await database?.drop();
});

function serviceWith(secrets: string[], revoked: Set<string> = new Set()): TokenService {
  return createTokenService(opened.db, createKeyring(secrets), { isRevoked: (ids) => ids.some((id) => revoked.has(id)) }, changes);
}

function idsOf(service: TokenService, token: string): readonly string[] {
  const verified = service.verify(token);
  if (!verified.ok) throw new Error(`the token does not verify: ${verified.reason}`);
  return verified.principal.tokenIds;
}

const policyInput = z.array(constraintInput);
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('token service', () => {
  it('mints from an API key: one unrestricted block, the default hour, the id of the token', async () => {
    const service = serviceWith([NEW_SECRET]);
    const before = Date.now();
    const minted = await service.mint({ accountId: ACCOUNT }, undefined);
    const after = Date.now();
    const verified = service.verify(minted.token);
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(verified.principal).toMatchObject({ kind: 'token', accountId: ACCOUNT, blocks: [null] });
    expect(verified.principal.tokenIds).toEqual([expect.stringMatching(/^tok_/)]);
    expect(verified.principal.expiresAt * 1000).toBe(Date.parse(minted.expiresAt));
    expect(Date.parse(minted.expiresAt)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3_600_000);
    expect(Date.parse(minted.expiresAt)).toBeLessThanOrEqual(after + 3_600_000);
  });

  it('a child adds one block, carries the chain of ids, and never outlives its parent', async () => {
    const service = serviceWith([NEW_SECRET]);
    const parent = await service.mint({ accountId: ACCOUNT }, policyInput.parse([{ namespaces: 'acme-prod', ttl: '20s' }]));
    const child = await service.mint({ accountId: ACCOUNT, parentToken: parent.token }, policyInput.parse([{ operations: 'read', ttl: '24h' }]));
    const [p, c] = [service.verify(parent.token), service.verify(child.token)];
    expect(p.ok && c.ok).toBe(true);
    if (!p.ok || !c.ok) return;
    expect(c.principal.blocks).toEqual([[{ namespaces: ['acme-prod'] }], [{ operations: ['read'] }]]);
    expect(c.principal.tokenIds.slice(0, 1)).toEqual(p.principal.tokenIds);
    expect(c.principal.tokenIds).toHaveLength(2);
    expect(child.expiresAt).toBe(parent.expiresAt);
    expect(c.principal.expiresAt).toBe(p.principal.expiresAt);
  });

  it('expires at the earliest expiry of any block', () => {
    const keyring = createKeyring([NEW_SECRET]);
    const service = serviceWith([NEW_SECRET]);
    // Offsets from now in seconds, away from the present so the clock cannot tip a case.
    const offset = fc.oneof(fc.integer({ min: -100_000, max: -5 }), fc.integer({ min: 60, max: 100_000 }));
    fc.assert(
      fc.property(offset, fc.array(offset, { maxLength: 3 }), (rootOffset, offsets) => {
        const now = nowSeconds();
        const exps = [now + rootOffset, ...offsets.map((o) => now + o)];
        let token = mintToken(keyring.deriveKey(SIGNING_PURPOSE), { kid: keyring.currentKeyId, id: 'tok_exp', acc: ACCOUNT, iat: now, exp: exps[0]!, policy: null });
        exps.slice(1).forEach((exp, i) => (token = attenuateToken(token, { id: `tok_exp${i}`, exp, policy: [{}] })));
        const verified = service.verify(token);
        const earliest = Math.min(...exps);
        if (earliest <= now) expect(verified).toEqual({ ok: false, reason: 'expired' });
        else expect(verified.ok && verified.principal.expiresAt).toBe(earliest);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('refuses to mint from an expired parent', async () => {
    const keyring = createKeyring([NEW_SECRET]);
    const service = serviceWith([NEW_SECRET]);
    const now = nowSeconds();
    const expired = mintToken(keyring.deriveKey(SIGNING_PURPOSE), { kid: keyring.currentKeyId, id: 'tok_old', acc: ACCOUNT, iat: now - 7200, exp: now - 3600, policy: null });
    expect(service.verify(expired)).toEqual({ ok: false, reason: 'expired' });
    await expect(service.mint({ accountId: ACCOUNT, parentToken: expired }, undefined)).rejects.toMatchObject({ code: 'unauthorized' });
  });

  describe('revocation anywhere in the chain', () => {
    let chain: { root: string; child: string; grandchild: string; offline: string; ids: string[] };
    beforeAll(async () => {
      const service = serviceWith([NEW_SECRET]);
      const root = (await service.mint({ accountId: ACCOUNT }, undefined)).token;
      const child = (await service.mint({ accountId: ACCOUNT, parentToken: root }, undefined)).token;
      const grandchild = (await service.mint({ accountId: ACCOUNT, parentToken: child }, undefined)).token;
      const offline = attenuateToken(grandchild, { id: 'tok_offline', exp: nowSeconds() + 600, policy: [{}] });
      chain = { root, child, grandchild, offline, ids: [...idsOf(service, grandchild)] };
    });

    it.each([
      ['the root', 0, [false, false, false, false]],
      ['the child', 1, [true, false, false, false]],
      ['the grandchild', 2, [true, true, false, false]],
    ])('revoking %s refuses it and everything narrowed from it', (_name, index, expectedOk) => {
      const service = serviceWith([NEW_SECRET], new Set([chain.ids[index]!]));
      const results = [chain.root, chain.child, chain.grandchild, chain.offline].map((token) => service.verify(token));
      expect(results.map((result) => result.ok)).toEqual(expectedOk);
      for (const result of results) if (!result.ok) expect(result.reason).toBe('revoked');
    });

    it('an offline block is revoked within its own chain', () => {
      const [rootId, ...blockIds] = chain.ids;
      const ownId = chainRevocationIds(rootId!, [...blockIds, 'tok_offline']).at(-1)!;
      const service = serviceWith([NEW_SECRET], new Set([ownId]));
      expect(service.verify(chain.offline)).toEqual({ ok: false, reason: 'revoked' });
      expect(service.verify(chain.grandchild).ok).toBe(true);
    });

    it('through the revocation list and change feed: by id, by token, and never another account’s', async () => {
      const revocations = await loadRevocationList(opened.db, changes);
      const service = createTokenService(opened.db, createKeyring([NEW_SECRET]), revocations, changes);
      const root = (await service.mint({ accountId: ACCOUNT }, undefined)).token;
      const child = (await service.mint({ accountId: ACCOUNT, parentToken: root }, undefined)).token;
      const childId = idsOf(service, child).at(-1)!;
      const offline = attenuateToken(root, { id: 'tok_copied', exp: nowSeconds() + 600, policy: [{}] });
      const otherRoot = (await service.mint({ accountId: ACCOUNT }, undefined)).token;
      const otherOffline = attenuateToken(otherRoot, { id: 'tok_copied', exp: nowSeconds() + 600, policy: [{}] });

      await expect(service.revoke(OTHER_ACCOUNT, { id: childId })).rejects.toMatchObject({ code: 'not_found' });
      await expect(service.revoke(OTHER_ACCOUNT, { token: child })).rejects.toMatchObject({ code: 'not_found' });
      expect(service.verify(child).ok).toBe(true);

      await service.revoke(ACCOUNT, { id: childId });
      expect(service.verify(child)).toEqual({ ok: false, reason: 'revoked' });
      expect(service.verify(root).ok).toBe(true);

      await service.revoke(ACCOUNT, { token: offline });
      expect(service.verify(offline)).toEqual({ ok: false, reason: 'revoked' });
      // The same offline id under another root is another token.
      expect(service.verify(otherOffline).ok).toBe(true);
      expect(service.verify(root).ok).toBe(true);
    });
  });

  describe('key rotation', () => {
    it('after rotation old tokens verify; without the old secret they do not', async () => {
      const before = serviceWith([OLD_SECRET]);
      const rotated = serviceWith([NEW_SECRET, OLD_SECRET]);
      const dropped = serviceWith([NEW_SECRET]);
      const oldToken = (await before.mint({ accountId: ACCOUNT }, policyInput.parse([{ operations: 'read' }]))).token;
      const childOfOld = (await rotated.mint({ accountId: ACCOUNT, parentToken: oldToken }, undefined)).token;
      const newToken = (await rotated.mint({ accountId: ACCOUNT }, undefined)).token;

      expect(claimedKeyId(oldToken)).toBe(createKeyring([OLD_SECRET]).currentKeyId);
      expect(claimedKeyId(childOfOld)).toBe(createKeyring([OLD_SECRET]).currentKeyId);
      expect(claimedKeyId(newToken)).toBe(createKeyring([NEW_SECRET]).currentKeyId);
      for (const token of [oldToken, childOfOld, newToken]) expect(rotated.verify(token).ok).toBe(true);
      expect(dropped.verify(oldToken)).toEqual({ ok: false, reason: 'bad_signature' });
      expect(dropped.verify(childOfOld)).toEqual({ ok: false, reason: 'bad_signature' });
      expect(dropped.verify(newToken).ok).toBe(true);
      expect(before.verify(newToken)).toEqual({ ok: false, reason: 'bad_signature' });
    });

    it('a token that claims one key but was signed with another is refused', () => {
      const [oldKeyring, newKeyring] = [createKeyring([OLD_SECRET]), createKeyring([NEW_SECRET])];
      const now = nowSeconds();
      const forged = mintToken(oldKeyring.deriveKey(SIGNING_PURPOSE), { kid: newKeyring.currentKeyId, id: 'tok_forged', acc: ACCOUNT, iat: now, exp: now + 600, policy: null });
      expect(serviceWith([NEW_SECRET, OLD_SECRET]).verify(forged)).toEqual({ ok: false, reason: 'bad_signature' });
    });
  });

  it('a changed character never verifies', async () => {
    const service = serviceWith([NEW_SECRET]);
    const parent = (await service.mint({ accountId: ACCOUNT }, undefined)).token;
    const token = (await service.mint({ accountId: ACCOUNT, parentToken: parent }, policyInput.parse([{ namespaces: 'acme-prod' }]))).token;
    fc.assert(
      fc.property(mutationArb, ({ at, char }) => {
        const i = at % token.length;
        const mutated = token.slice(0, i) + char + token.slice(i + 1);
        if (mutated !== token) expect(service.verify(mutated).ok).toBe(false);
      }),
      { seed: SEED, numRuns: 1_000 },
    );
    expect(service.verify(token).ok).toBe(true);
  });

  it('a policy accepted at mint yields a token that verifies (or is refused at mint)', async () => {
    const service = serviceWith([NEW_SECRET]);
    // Within the input limits: maps of 20 pairs of 256 characters, as many as a policy holds.
    const metadata = Array.from({ length: 20 }, () => Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key${i}`, 'v'.repeat(256)])));
    const outcome = await service.mint({ accountId: ACCOUNT }, policyInput.parse([{ metadata }])).then(
      (minted) => (service.verify(minted.token).ok ? 'usable' : `unusable (${(service.verify(minted.token) as { reason: string }).reason})`),
      (error: unknown) => (error instanceof AppError ? error.code : 'threw'),
    );
    expect(['usable', 'validation_error']).toContain(outcome);
  });
});
