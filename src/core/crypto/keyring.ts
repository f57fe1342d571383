import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Keys derived from the master secret(s). The first secret is current: it encrypts and signs.
 * Earlier secrets still decrypt and verify, so a rotation never breaks stored data; every
 * sealed value names the key that sealed it.
 */
export type Keyring = {
  readonly currentKeyId: string;
  readonly keyIds: readonly string[];
  /** AES-256-GCM; `context` is bound as associated data, so a value only opens where it was sealed. */
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): OpenResult;
  /** A 32-byte key for one purpose (e.g. token signing) from the secret with this id. */
  deriveKey(purpose: string, keyId?: string): Buffer;
  /** Whether a sealed value was made with an older key and should be re-sealed. */
  isStale(sealed: string): boolean;
};

export type OpenResult =
  | { ok: true; plaintext: string }
  | { ok: false; reason: 'malformed' | 'unknown_key' | 'tampered' };

const SEALED_VERSION = 'sb1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function createKeyring(secrets: readonly string[]): Keyring {
  if (secrets.length === 0) throw new Error('A keyring needs at least one secret');
  const masters = new Map<string, Buffer>();
  for (const secret of secrets) {
    const material = Buffer.from(secret, 'utf8');
    masters.set(keyIdOf(material), material);
  }
  const keyIds = [...masters.keys()];
  const currentKeyId = keyIds[0]!;
  const derived = new Map<string, Buffer>();

  function deriveKey(purpose: string, keyId = currentKeyId): Buffer {
    const cacheKey = `${keyId}\0${purpose}`;
    let key = derived.get(cacheKey);
    if (!key) {
      const master = masters.get(keyId);
      if (!master) throw new Error(`Unknown key id ${keyId}`);
      key = Buffer.from(hkdfSync('sha256', master, 'switchboard', `switchboard/${purpose}`, 32));
      derived.set(cacheKey, key);
    }
    return key;
  }

  return {
    currentKeyId,
    keyIds,
    deriveKey,
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', deriveKey('encryption'), iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${SEALED_VERSION}.${currentKeyId}.${body.toString('base64url')}`;
    },
    open(sealed, context) {
      const [version, keyId, encoded, ...rest] = sealed.split('.');
      if (version !== SEALED_VERSION || !keyId || !encoded || rest.length > 0) return { ok: false, reason: 'malformed' };
      if (!masters.has(keyId)) return { ok: false, reason: 'unknown_key' };
      const body = Buffer.from(encoded, 'base64url');
      if (body.length < IV_BYTES + TAG_BYTES) return { ok: false, reason: 'malformed' };
      try {
        const decipher = createDecipheriv('aes-256-gcm', deriveKey('encryption', keyId), body.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        const plaintext = Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), decipher.final()]);
        return { ok: true, plaintext: plaintext.toString('utf8') };
      } catch {
        return { ok: false, reason: 'tampered' };
      }
    },
    isStale(sealed) {
      return sealed.split('.')[1] !== currentKeyId;
    },
  };
}

/** A public, stable name for a secret: it identifies the key without revealing it. */
function keyIdOf(material: Buffer): string {
  const idKey = hkdfSync('sha256', material, 'switchboard', 'switchboard/key-id', 32);
  return createHash('sha256').update(Buffer.from(idKey)).digest('hex').slice(0, 16);
}
