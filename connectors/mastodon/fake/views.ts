/** What tests see of the fake Mastodon: accounts with their tokens, and statuses as plain records. */
import type { FakeState, FakeStatus } from './state.js';

/** A test account and the credentials a connector needs for it. */
export interface FakeAccountCredentials {
  accountId: string;
  username: string;
  accessToken: string;
  /** Null when the fake runs without refresh tokens (stock Mastodon). */
  refreshToken: string | null;
  clientId: string;
  clientSecret: string;
  /** ISO 8601 expiry of the access token, or null when tokens do not expire. */
  expiresAt: string | null;
}

export interface FakeStatusView {
  id: string;
  text: string;
  spoilerText: string;
  visibility: string;
  sensitive: boolean;
  language: string | null;
  replyToId: string | null;
  mediaIds: string[];
  altTexts: string[];
  /** The Idempotency-Key header the status was created with. */
  idempotencyKey: string | null;
  createdAt: string;
}

/** A new account with its own app and a granted `read write` token. */
export function createAccountWithToken(state: FakeState, username?: string, clientId?: string): FakeAccountCredentials {
  const app = clientId ? state.apps.get(clientId) : state.createApp();
  if (!app) throw new Error(`fake Mastodon: no app ${clientId}`);
  const account = state.createAccount(username);
  const token = state.issueToken(app.clientId, account.id, ['read', 'write']);
  return {
    accountId: account.id,
    username: account.username,
    accessToken: token.accessToken,
    refreshToken: token.refreshToken,
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    expiresAt: token.expiresAt === null ? null : new Date(token.expiresAt).toISOString(),
  };
}

export function statusView(state: FakeState, s: FakeStatus): FakeStatusView {
  return {
    id: s.id,
    text: s.text,
    spoilerText: s.spoilerText,
    visibility: s.visibility,
    sensitive: s.sensitive,
    language: s.language,
    replyToId: s.inReplyToId,
    mediaIds: [...s.mediaIds],
    altTexts: s.mediaIds.map((id) => state.media.get(id)?.description ?? ''),
    idempotencyKey: s.idempotencyKey,
    createdAt: new Date(s.createdAt).toISOString(),
  };
}
