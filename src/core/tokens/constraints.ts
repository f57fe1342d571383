import { z } from 'zod';
import { NAMESPACE_NAME_PATTERN } from '../namespaces/names.ts';
import { refusingReservedKeys } from '../reserved-keys.ts';
import { isStorableText } from '../storable-text.ts';
import { checkPattern } from './safe-regex.ts';

/**
 * A service token's policy, as minted (docs/contract.md, Service tokens). Each field narrows; a
 * missing field does not. Normalized here to arrays, with `ttl` taken out and turned into
 * the token's expiry.
 */
export const RESOURCES = ['connections', 'namespaces', 'servers', 'skills'] as const;
export const OPERATIONS = ['read', 'write', 'execute'] as const;
export type TokenResource = (typeof RESOURCES)[number];
export type TokenOperation = (typeof OPERATIONS)[number];

export type Constraint = {
  namespaces?: string[];
  resources?: TokenResource[];
  operations?: TokenOperation[];
  /** Any one of these maps must hold, every pair of it. */
  metadata?: Record<string, string>[];
  /** Every dot-path of the JSON-RPC request must match its pattern. */
  rpcReqMatch?: Record<string, string>;
};

export const DEFAULT_TTL_SECONDS = 60 * 60;
export const MAX_TTL_SECONDS = 24 * 60 * 60;

/** One value or a list of them, always a list after parsing; each item is checked on its own, so errors name it. */
const oneOrMany = <T extends z.ZodType>(item: T, max: number) =>
  z.preprocess((value) => (Array.isArray(value) ? value : [value]), z.array(item).min(1).max(max));

const text = (max: number) =>
  z.string({ error: 'must be a string' }).min(1).max(max).refine(isStorableText, 'must not contain NUL characters or unpaired surrogates');

/** A record whose keys are checked with a message of our own (zod's says only "Invalid key in record"). */
const recordWithKeys = <T extends z.ZodType>(keyCheck: (key: string) => string | undefined, value: T, pairs: { min: number; max: number }) =>
  z.record(z.string(), value).superRefine((map, ctx) => {
    const keys = Object.keys(map);
    if (keys.length < pairs.min || keys.length > pairs.max) ctx.addIssue({ code: 'custom', message: `must hold ${pairs.min} to ${pairs.max} entries` });
    for (const key of keys) {
      const problem = keyCheck(key);
      if (problem) ctx.addIssue({ code: 'custom', path: [key], message: `the key ${JSON.stringify(key.slice(0, 60))} ${problem}` });
    }
  });

const metadataMap = refusingReservedKeys(
  recordWithKeys(
    (key) => (key.length === 0 || key.length > 100 || !isStorableText(key) ? 'must be 1 to 100 characters of text' : undefined),
    text(256),
    { min: 1, max: 20 },
  ),
);
const DOT_PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+){0,7}$/;
const pattern = z.string().superRefine((source, ctx) => {
  const check = checkPattern(source);
  if (!check.ok) ctx.addIssue({ code: 'custom', message: `the pattern ${JSON.stringify(source.slice(0, 60))} ${check.reason}` });
});

/** Seconds, or "90s" / "30m" / "1h". */
const ttl = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const match = typeof value === 'string' ? /^(\d{1,6})([smh])$/.exec(value) : null;
  const seconds = typeof value === 'number' ? value : match ? Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'] : NaN;
  if (!Number.isInteger(seconds) || seconds <= 0) {
    ctx.addIssue({ code: 'custom', message: 'must be a positive whole number of seconds, or a duration such as "20s", "30m" or "1h"' });
    return z.NEVER;
  }
  if (seconds > MAX_TTL_SECONDS) {
    ctx.addIssue({ code: 'custom', message: `is longer than the maximum of 24 hours (${MAX_TTL_SECONDS} seconds)` });
    return z.NEVER;
  }
  return seconds;
});

export const constraintInput = z
  .object({
    namespaces: oneOrMany(z.string().regex(NAMESPACE_NAME_PATTERN, 'must be a namespace name (3 to 39 lowercase letters, digits and hyphens)'), 100).optional(),
    resources: oneOrMany(z.enum(RESOURCES, { error: `must be one of ${RESOURCES.join(', ')}` }), RESOURCES.length).optional(),
    operations: oneOrMany(z.enum(OPERATIONS, { error: `must be one of ${OPERATIONS.join(', ')}` }), OPERATIONS.length).optional(),
    metadata: oneOrMany(metadataMap, 20).optional(),
    rpcReqMatch: recordWithKeys((key) => (DOT_PATH.test(key) ? undefined : 'must be a dot-path such as params.name'), pattern, { min: 1, max: 10 }).optional(),
    ttl: ttl.optional(),
  })
  .strict();

export type ConstraintInput = z.input<typeof constraintInput>;

/** The policy as minted: constraints (OR), and the TTL that applies (the shortest asked, else the default). */
export function normalizePolicy(constraints: z.output<typeof constraintInput>[] | undefined): { constraints: Constraint[] | null; ttlSeconds: number } {
  if (!constraints) return { constraints: null, ttlSeconds: DEFAULT_TTL_SECONDS };
  const ttlSeconds = Math.min(...constraints.map((c) => c.ttl ?? DEFAULT_TTL_SECONDS));
  return { constraints: constraints.map(({ ttl: _ttl, ...rest }) => stripUndefined(rest)), ttlSeconds };
}

/** A constraint as it travels inside a token: strict, so a block nobody can honour is refused. */
export const storedConstraint = z
  .object({
    namespaces: z.array(z.string()).min(1).optional(),
    resources: z.array(z.enum(RESOURCES)).min(1).optional(),
    operations: z.array(z.enum(OPERATIONS)).min(1).optional(),
    metadata: z
      .array(refusingReservedKeys(z.record(z.string(), z.string()).refine((map) => Object.keys(map).length > 0, 'an empty map means nothing')))
      .min(1)
      .optional(),
    rpcReqMatch: z
      .record(z.string(), pattern)
      .refine((map) => Object.keys(map).length > 0 && Object.keys(map).length <= 10, 'must hold 1 to 10 patterns')
      .optional(),
  })
  .strict();

/** The most patterns a whole token may run per request (each is bounded, their sum must be too). */
export const MAX_PATTERNS_PER_TOKEN = 32;

export function countPatterns(policy: readonly Constraint[] | null): number {
  return (policy ?? []).reduce((sum, constraint) => sum + Object.keys(constraint.rpcReqMatch ?? {}).length, 0);
}

function stripUndefined(constraint: Constraint): Constraint {
  return Object.fromEntries(Object.entries(constraint).filter(([, value]) => value !== undefined)) as Constraint;
}
