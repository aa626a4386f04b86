/**
 * Linking an account: what a platform's OAuth side offers the connect flow. `begin` builds
 * the authorize URL for a `state` the caller generated; `complete` trades the callback's code
 * for credentials and reads who connected. Anything `begin` needs back at `complete` travels
 * with the state: `carry` (non-secret, e.g. an instance URL) and `secrets` (PKCE verifier,
 * per-instance client secret), which the caller keeps encrypted until the callback.
 */
import type { Credentials } from './contract.js';

export interface LinkStart {
  authorizeUrl: string;
  carry: Record<string, string>;
  secrets: Record<string, string>;
}

export interface LinkedAccount {
  /** The platform's id for the account (the connector's `externalId`). */
  externalId: string;
  handle: string;
  displayName: string | null;
  avatarUrl: string | null;
  credentials: Credentials;
  /** When the access token expires, or null when it does not. */
  expiresAt: Date | null;
  scopes: string[];
  /** Non-secret facts the connector reads back (`account.metadata`). */
  metadata: Record<string, unknown>;
}

export interface AccountLinker {
  readonly platform: string;
  begin(input: { state: string; instanceUrl?: string | undefined }): Promise<LinkStart>;
  complete(input: {
    code: string;
    carry: Record<string, string>;
    secrets: Record<string, string>;
  }): Promise<LinkedAccount>;
  /** Revokes the account's tokens at the platform, when it offers revocation. */
  revoke?(credentials: Credentials, metadata: Record<string, unknown>): Promise<void>;
}

/**
 * Linking an account by signing in to it (Bluesky's app passwords) instead of an OAuth
 * redirect: the identifier and password go to the platform once, and what it answers is stored.
 */
export interface PasswordLinker {
  readonly platform: string;
  signIn(input: { identifier: string; password: string }): Promise<LinkedAccount>;
  /** Ends the stored session at the platform (the password itself stays valid there until its owner revokes it). */
  revoke?(credentials: Credentials, metadata: Record<string, unknown>): Promise<void>;
}
