import { describe, expect, it } from 'vitest';
import { createKeyring } from '../../src/core/crypto/keyring.ts';

const oldSecret = 'old-secret-old-secret-old-secret-0001';
const newSecret = 'new-secret-new-secret-new-secret-0002';

describe('keyring', () => {
  it('seals with AES-256-GCM under the current key id and opens in the same context', () => {
    const keyring = createKeyring([newSecret]);
    const sealed = keyring.seal('{"authorization":"Bearer upstream-credential"}', 'connection:ns/a');
    expect(sealed.startsWith(`sb1.${keyring.currentKeyId}.`)).toBe(true);
    expect(sealed).not.toContain('upstream-credential');
    expect(keyring.open(sealed, 'connection:ns/a')).toEqual({ ok: true, plaintext: '{"authorization":"Bearer upstream-credential"}' });
  });

  it('uses a fresh nonce every time', () => {
    const keyring = createKeyring([newSecret]);
    expect(keyring.seal('same', 'ctx')).not.toBe(keyring.seal('same', 'ctx'));
  });

  it('refuses a value moved to another context or altered', () => {
    const keyring = createKeyring([newSecret]);
    const sealed = keyring.seal('secret', 'connection:ns/a');
    expect(keyring.open(sealed, 'connection:ns/b')).toEqual({ ok: false, reason: 'tampered' });
    const parts = sealed.split('.');
    const body = Buffer.from(parts[2]!, 'base64url');
    body[body.length - 20]! ^= 1;
    expect(keyring.open(`${parts[0]}.${parts[1]}.${body.toString('base64url')}`, 'connection:ns/a')).toEqual({ ok: false, reason: 'tampered' });
    expect(keyring.open('garbage', 'connection:ns/a')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('after rotation, opens what the previous key sealed and marks it stale', () => {
    const before = createKeyring([oldSecret]);
    const sealed = before.seal('payload', 'ctx');
    const after = createKeyring([newSecret, oldSecret]);
    expect(after.currentKeyId).not.toBe(before.currentKeyId);
    expect(after.open(sealed, 'ctx')).toEqual({ ok: true, plaintext: 'payload' });
    expect(after.isStale(sealed)).toBe(true);
    expect(after.isStale(after.seal('payload', 'ctx'))).toBe(false);
    // Once the old secret is dropped, its values no longer open.
    expect(createKeyring([newSecret]).open(sealed, 'ctx')).toEqual({ ok: false, reason: 'unknown_key' });
  });

  it('derives distinct, stable keys per purpose and secret', () => {
    const a = createKeyring([newSecret]);
    const b = createKeyring([newSecret]);
    expect(a.currentKeyId).toBe(b.currentKeyId);
    expect(a.deriveKey('token-signing').equals(b.deriveKey('token-signing'))).toBe(true);
    expect(a.deriveKey('token-signing').equals(a.deriveKey('encryption'))).toBe(false);
    expect(a.currentKeyId).not.toContain(newSecret.slice(0, 8));
  });
});
