/**
 * Meta's token calls, shared by the three connectors: trading an authorization code, trading
 * a short-lived token for a long-lived one (60 days), refreshing a long-lived one, all
 * answering `{access_token, token_type, expires_in}`. Credentials are stored as
 * `{accessToken, expiresAt, issuedAt}`: Instagram and Threads refresh a long-lived token only
 * once it is at least 24 hours old and before it expires, so `issuedAt` is kept to tell.
 */
import type { Credentials } from '../contract.js';
import { AuthExpired, PermanentError, isConnectorError } from '../errors.js';
import { graphRequest, type GraphTransport } from './graph.js';
import { LABELS, type MetaPlatform } from './errors.js';

export interface MetaCredentials {
  accessToken: string;
  /** ISO instant the token expires, when Meta said. */
  expiresAt?: string;
  /** ISO instant the long-lived token was issued (refresh is refused before it is 24 h old). */
  issuedAt?: string;
}

export const REFRESH_MIN_AGE_MS = 24 * 60 * 60_000;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function parseMetaCredentials(platform: MetaPlatform, c: Credentials): MetaCredentials {
  const accessToken = str(c.accessToken);
  if (!accessToken) {
    throw new AuthExpired(
      `The stored ${LABELS[platform]} credentials are incomplete; the account must be reconnected`,
      {
        platform,
        reconnect: true,
      },
    );
  }
  return {
    accessToken,
    ...(str(c.expiresAt) ? { expiresAt: str(c.expiresAt)! } : {}),
    ...(str(c.issuedAt) ? { issuedAt: str(c.issuedAt)! } : {}),
  };
}

export interface TokenGrant {
  credentials: MetaCredentials;
  expiresAt: Date | null;
  /** Extra fields of the answer (`user_id`, `permissions`). */
  extra: Record<string, unknown>;
}

/** `{access_token, expires_in}` (or Instagram's `{data: [{access_token, user_id}]}`) as a grant. */
export function grantOf(
  platform: MetaPlatform,
  body: Record<string, unknown>,
  what: string,
  now = Date.now(),
): TokenGrant {
  const inner =
    Array.isArray(body.data) && typeof body.data[0] === 'object' ? (body.data[0] as Record<string, unknown>) : body;
  const accessToken = str(inner.access_token);
  if (!accessToken)
    throw new PermanentError(`${LABELS[platform]}'s answer to ${what} holds no access token`, { platform });
  const expiresIn = Number(inner.expires_in);
  const expiresAt = Number.isFinite(expiresIn) && expiresIn > 0 ? new Date(now + expiresIn * 1000) : null;
  return {
    credentials: {
      accessToken,
      issuedAt: new Date(now).toISOString(),
      ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
    },
    expiresAt,
    extra: inner,
  };
}

/** A token call whose refusal means the grant is gone: `AuthExpired` with `reconnect`. */
export async function tokenCall(
  t: GraphTransport,
  req: { method: 'GET' | 'POST'; path: string; params: Record<string, string> },
  what: string,
): Promise<TokenGrant> {
  try {
    const res = await graphRequest(t, req);
    return grantOf(t.platform, res.body, what);
  } catch (err) {
    if (isConnectorError(err) && (err.kind === 'invalid_content' || err.kind === 'permanent')) {
      throw new AuthExpired(`${LABELS[t.platform]} refused ${what}: ${err.platformMessage ?? err.message}`, {
        platform: t.platform,
        ...(err.status ? { status: err.status } : {}),
        ...(err.platformMessage ? { platformMessage: err.platformMessage } : {}),
        reconnect: true,
      });
    }
    throw err;
  }
}

/**
 * Refuses a refresh Meta would refuse: an expired token (reconnect), or one issued less than
 * 24 h ago (it stays valid; the stored credentials are kept).
 */
export function refreshableNow(platform: MetaPlatform, c: MetaCredentials, now = Date.now()): 'refresh' | 'too_young' {
  if (c.expiresAt && Date.parse(c.expiresAt) <= now) {
    throw new AuthExpired(
      `The ${LABELS[platform]} token expired on ${c.expiresAt}; Meta does not refresh an expired token, so the account must be reconnected`,
      { platform, reconnect: true },
    );
  }
  if (c.issuedAt && now - Date.parse(c.issuedAt) < REFRESH_MIN_AGE_MS) return 'too_young';
  return 'refresh';
}
