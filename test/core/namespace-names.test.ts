import { describe, expect, it } from 'vitest';
import { checkNamespaceName, generateNamespaceName, RESERVED_NAMESPACE_NAMES } from '../../src/core/namespaces/names.ts';

describe('namespace names', () => {
  it('generates names that pass validation and vary', () => {
    const names = new Set(Array.from({ length: 500 }, generateNamespaceName));
    for (const name of names) expect(checkNamespaceName(name), name).toEqual({ ok: true });
    expect(names.size).toBeGreaterThan(490);
  });

  it('reserves every platform route', () => {
    for (const name of ['health', 'namespaces', 'tokens', 'connect', 'oauth', 'docs', 'trpc', 'metrics', 'setup']) {
      expect(RESERVED_NAMESPACE_NAMES.has(name)).toBe(true);
      expect(checkNamespaceName(name).ok).toBe(false);
    }
  });

  it.each([
    ['abc', true],
    ['a1-b2', true],
    ['a'.repeat(39), true],
    ['a'.repeat(40), false],
    ['ab', false],
    ['-ab', false],
    ['ab-', false],
    ['aBc', false],
    ['a_b', false],
    ['', false],
  ])('%s valid: %s', (name, valid) => {
    expect(checkNamespaceName(name).ok).toBe(valid);
  });
});
