/**
 * Encrypts secrets at rest (platform tokens, app passwords) with AES-256-GCM. Each ciphertext
 * is stored beside the id of the key that made it, so keys can rotate: new writes use the
 * active key, old ciphertexts keep decrypting with the key they name until they are re-encrypted.
 * Callers pass associated data (e.g. `workspace:<id>/account:<id>`) that binds a ciphertext to
 * the row it belongs to, so a value copied into another row or workspace fails to decrypt.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { HeraldError } from '../errors.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealed {
  keyId: string;
  /** base64 of iv | tag | ciphertext */
  ciphertext: string;
}

export class SecretCipher {
  readonly activeKeyId: string;
  readonly #keys: ReadonlyMap<string, Buffer>;

  constructor(keys: ReadonlyMap<string, Buffer>, activeKeyId: string) {
    for (const [id, key] of keys) {
      if (key.length !== 32) throw new TypeError(`encryption key "${id}" must be 32 bytes, got ${key.length}`);
    }
    if (!keys.has(activeKeyId)) throw new TypeError(`active key "${activeKeyId}" is not in the key ring`);
    this.#keys = keys;
    this.activeKeyId = activeKeyId;
  }

  /**
   * A separate key for another purpose (e.g. signing access tokens), derived with HKDF from
   * the active key so every node of one install agrees without another secret to manage.
   */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#keys.get(this.activeKeyId)!, Buffer.alloc(0), `herald:${purpose}`, 32));
  }

  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  seal(plaintext: string, associatedData: string): Sealed {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.activeKeyId)!, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      keyId: this.activeKeyId,
      ciphertext: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64'),
    };
  }

  open(sealed: Sealed, associatedData: string): string {
    const key = this.#keys.get(sealed.keyId);
    if (!key) {
      throw new HeraldError('crypto_key_unknown', {
        message: `A stored secret was encrypted with key "${sealed.keyId}", which is not configured (configured: ${this.keyIds.join(', ')})`,
        details: { keyId: sealed.keyId },
      });
    }
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) {
      throw new HeraldError('crypto_decrypt_failed', { details: { keyId: sealed.keyId, reason: 'truncated' } });
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch (cause) {
      throw new HeraldError('crypto_decrypt_failed', { details: { keyId: sealed.keyId }, cause });
    }
  }

  /** True when the value was sealed with an older key and should be re-encrypted. */
  needsRotation(sealed: Pick<Sealed, 'keyId'>): boolean {
    return sealed.keyId !== this.activeKeyId;
  }

  /** Decrypt with the key it names, encrypt with the active key. */
  reseal(sealed: Sealed, associatedData: string): Sealed {
    return this.seal(this.open(sealed, associatedData), associatedData);
  }
}
