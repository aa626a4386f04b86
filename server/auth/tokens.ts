/**
 * Access tokens: short-lived HS256 JWTs naming the user (`sub`), the session (`sid`) and the
 * workspace they act in (`ws`). Membership and session are checked on every request (against
 * the database, or the principal cache that database notifications keep current), so logout,
 * removal from a workspace and refresh-token reuse take effect at once rather than when the
 * token expires. Refresh tokens and invitation tokens
 * are opaque random strings stored hashed.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import { HeraldError } from '../../core/index.js';

const ISSUER = 'herald';
const AUDIENCE = 'herald-api';

export interface AccessClaims {
  userId: string;
  sessionId: string;
  workspaceId: string;
}

/** Tokens whose signature and claims were checked, kept until they expire (per process). */
const VERIFIED_CACHE_MAX = 10_000;

export class TokenSigner {
  readonly #key: Uint8Array;
  /** The key imported once: jose given raw bytes imports them again on every call (~150 µs). */
  #cryptoKey: Promise<webcrypto.CryptoKey> | undefined;
  /**
   * A token is a pure function of its claims and the key, so a token once verified stays
   * valid until its `exp`; what can end it sooner (logout, reuse, removal) is checked on every
   * request (principal-cache.ts), not here. Expired entries are never answered from the cache.
   */
  readonly #verified = new LRUCache<string, AccessClaims & { expMs: number }>({ max: VERIFIED_CACHE_MAX });
  readonly ttlS: number;

  constructor(key: Uint8Array, ttlS: number) {
    this.#key = key;
    this.ttlS = ttlS;
  }

  #verifyKey(): Promise<webcrypto.CryptoKey> {
    this.#cryptoKey ??= webcrypto.subtle.importKey('raw', this.#key, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'verify',
    ]);
    return this.#cryptoKey;
  }

  sign(claims: AccessClaims, now = new Date()): Promise<string> {
    const iat = Math.floor(now.getTime() / 1000);
    return new SignJWT({ sid: claims.sessionId, ws: claims.workspaceId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlS)
      .sign(this.#key);
  }

  /** Throws `token_expired` or `unauthorized`; never says more about why a token is bad. */
  async verify(token: string, now = Date.now()): Promise<AccessClaims> {
    const known = this.#verified.get(token);
    if (known) {
      if (known.expMs > now)
        return { userId: known.userId, sessionId: known.sessionId, workspaceId: known.workspaceId };
      this.#verified.delete(token);
    }
    try {
      const { payload } = await jwtVerify(token, await this.#verifyKey(), {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        currentDate: new Date(now),
      });
      const { sub, sid, ws, exp } = payload;
      if (typeof sub !== 'string' || typeof sid !== 'string' || typeof ws !== 'string' || typeof exp !== 'number')
        throw new Error('claims');
      const claims = { userId: sub, sessionId: sid, workspaceId: ws };
      this.#verified.set(token, { ...claims, expMs: exp * 1000 });
      return claims;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new HeraldError('token_expired');
      throw new HeraldError('unauthorized', { message: 'The access token is not valid' });
    }
  }
}

/** An opaque token with a readable prefix (`hr_` refresh, `hi_` invitation). */
export const opaqueToken = (prefix: 'hr_' | 'hi_'): string => prefix + randomBytes(32).toString('base64url');
