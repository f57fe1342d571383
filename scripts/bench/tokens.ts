import { randomBytes } from 'node:crypto';
import type { ChangeFeed } from '../../src/core/changes/change-feed.ts';
import { createKeyring } from '../../src/core/crypto/keyring.ts';
import { rateLimitHeaders } from '../../src/core/rate-limits/rate-limit-headers.ts';
import { createRateLimiter } from '../../src/core/rate-limits/rate-limiter.ts';
import { decide, allowsCall, allowsConnection, type Blocks } from '../../src/core/tokens/policy.ts';
import { createTokenService } from '../../src/core/tokens/service-tokens.ts';
import { attenuateToken, mintToken } from '../../src/core/tokens/token-format.ts';
import type { Db } from '../../src/db/open.ts';
import type { Logger } from '../../src/logger.ts';
import { round, type Row } from './report.ts';

/**
 * Token verification and the policy check, in process, on one core: what every request
 * with a service token pays before anything else. Cold = a token not seen before (HMAC chain,
 * JSON, shape checks); warm = a token already opened (expiry and revocation checks only).
 */
export async function benchTokens(): Promise<Row[]> {
  const section = 'tokens';
  const keyring = createKeyring([randomBytes(32).toString('base64url')]);
  const noChanges = { announce: async () => {}, subscribe: () => {}, close: async () => {} } as ChangeFeed;
  // Verification reads neither the database nor the change feed; minting is done here directly.
  const service = createTokenService({} as Db, keyring, { isRevoked: () => false }, noChanges);
  const key = keyring.deriveKey('service-token-signing');
  const now = Math.floor(Date.now() / 1000);
  const policy = [{ namespaces: ['bench'], operations: ['read', 'execute'] as ('read' | 'execute')[], metadata: [{ userId: 'alice' }] }];
  const mint = (i: number) => {
    const root = mintToken(key, { kid: keyring.currentKeyId, id: `tok_${i}`, acc: 'acc_bench', iat: now, exp: now + 3600, policy });
    return attenuateToken(root, { id: `tok_${i}_child`, exp: now + 1800, policy: [{ rpcReqMatch: { 'params.name': '^(echo|add)$' } }] });
  };
  const count = 20_000;
  const tokens = Array.from({ length: count }, (_, i) => mint(i));

  const rows: Row[] = [];
  const measure = (measure: string, iterations: number, work: (i: number) => unknown, detail?: string) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) work(i);
    const ns = Number(process.hrtime.bigint() - started) / iterations;
    rows.push({ section, measure, value: round(1e9 / ns), unit: 'ops/s', detail: `${round(ns / 1000, 2)} µs each${detail ? `, ${detail}` : ''}` });
  };

  // Warm the code paths on the first thousand, then open each remaining token for the first time.
  for (let i = 0; i < 1000; i++) service.verify(tokens[i]!);
  measure('verify, cold (2-block token, first sight)', count - 1000, (i) => service.verify(tokens[1000 + i]!), `${count - 1000} distinct tokens`);
  const warm = tokens[0]!;
  for (let i = 0; i < 1000; i++) service.verify(warm);
  measure('verify, warm (token seen before)', 200_000, () => service.verify(warm));

  const verified = service.verify(warm);
  if (!verified.ok) throw new Error('bench token did not verify');
  const blocks: Blocks = verified.principal.blocks;
  const metadata = { userId: 'alice' };
  const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } };
  measure('policy: decide + allowsConnection + allowsCall', 200_000, () => {
    const decision = decide(blocks, { resource: 'connections', operation: 'execute', namespace: 'bench' });
    return decision.ok && allowsConnection(decision.scope, metadata) && allowsCall(decision.scope, metadata, call);
  });
  measure('verify (warm) + full policy check', 200_000, () => {
    const result = service.verify(warm);
    if (!result.ok) return false;
    const decision = decide(result.principal.blocks, { resource: 'connections', operation: 'execute', namespace: 'bench' });
    return decision.ok && allowsCall(decision.scope, metadata, call);
  });

  // What a limited caller adds while its process holds leased budget (19 calls in 20): the
  // lease itself is one upsert per chunk, measured by the proxy section with a limited token.
  const limiter = createRateLimiter({} as Db, { apiKeyPerWindow: 0, tokenPerWindow: 100_000_000, windowMs: 60_000 }, {} as Logger, {
    lease: async (_db, lease) => ({ used: lease.amount, resetMs: 60_000 }),
  });
  await limiter.check(verified.principal);
  measure('rate limit: check with leased budget + headers', 200_000, () => {
    const decision = limiter.check(verified.principal);
    return decision && !(decision instanceof Promise) && rateLimitHeaders(decision);
  });
  return rows;
}
