/**
 * Access tokens: short-lived HS256 JWTs naming the user (`sub`), the session (`sid`) and the
 * workspace they act in (`ws`). They are checked against the database on every request
 * (membership and session), so logout, removal from a workspace and refresh-token reuse take
 * effect at once rather than when the token expires. Refresh tokens and invitation tokens
 * are opaque random strings stored hashed.
 */
import { randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { HeraldError } from '../../core/index.js';

const ISSUER = 'herald';
const AUDIENCE = 'herald-api';

export interface AccessClaims {
  userId: string;
  sessionId: string;
  workspaceId: string;
}

export class TokenSigner {
  readonly #key: Uint8Array;
  readonly ttlS: number;

  constructor(key: Uint8Array, ttlS: number) {
    this.#key = key;
    this.ttlS = ttlS;
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
  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
      });
      const { sub, sid, ws } = payload;
      if (typeof sub !== 'string' || typeof sid !== 'string' || typeof ws !== 'string') throw new Error('claims');
      return { userId: sub, sessionId: sid, workspaceId: ws };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new HeraldError('token_expired');
      throw new HeraldError('unauthorized', { message: 'The access token is not valid' });
    }
  }
}

/** An opaque token with a readable prefix (`hr_` refresh, `hi_` invitation). */
export const opaqueToken = (prefix: 'hr_' | 'hi_'): string => prefix + randomBytes(32).toString('base64url');
