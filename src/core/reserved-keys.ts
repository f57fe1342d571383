import { z } from 'zod';

/**
 * Keys that name JavaScript's object machinery rather than data. Assigned to a plain object,
 * `__proto__` replaces its prototype instead of adding a key, and validation drops it without
 * a word (a metadata filter of `metadata[__proto__]=x` would vanish and match everything);
 * `constructor` and `prototype` read as inherited properties wherever a lookup is not guarded.
 */
export const RESERVED_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** The first reserved key among an object's own keys. */
export function reservedKeyOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return RESERVED_KEYS.find((key) => Object.hasOwn(value, key));
}

/**
 * `schema` for a map whose keys are data (metadata, filters), refusing reserved keys before
 * validation can drop them. Transparent to the OpenAPI document.
 */
export function refusingReservedKeys<T extends z.ZodType>(schema: T) {
  return z.preprocess((value, ctx) => {
    const key = reservedKeyOf(value);
    if (key !== undefined) ctx.addIssue({ code: 'custom', message: `the key ${JSON.stringify(key)} is reserved and cannot be used`, input: value });
    return value;
  }, schema);
}
