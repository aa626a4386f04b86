/**
 * Shared pieces of the fake LinkedIn's routes: the reply and route shapes, LinkedIn's two
 * error bodies (REST `{status, serviceErrorCode, code, message}` and OAuth
 * `{error, error_description}`), and who may act as an author.
 */
import type { IncomingMessage } from 'node:http';
import type { FakeToken, LinkedInFakeState } from './fake-state.js';

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | 'hang';
export interface Ctx {
  state: LinkedInFakeState;
  req: IncomingMessage;
  url: URL;
  form: URLSearchParams;
  json: Record<string, unknown>;
  raw: Buffer;
  match: RegExpExecArray;
  token: FakeToken | null;
}
export interface Route {
  method: string;
  path: RegExp;
  auth?: boolean;
  /** Creating a post: the call injected faults apply to. */
  creates?: boolean;
  handle(c: Ctx): Reply;
}

export const reply = (status: number, body?: unknown, headers?: Record<string, string>): Reply => ({
  status,
  ...(body === undefined ? {} : { body }),
  ...(headers ? { headers } : {}),
});
export const restError = (status: number, code: string, message: string, serviceErrorCode = 100) =>
  reply(status, { status, serviceErrorCode, code, message });
export const oauthError = (status: number, error: string, description: string) =>
  reply(status, { error, error_description: description });

const ORG = /^urn:li:organization:\d+$/;
export const mayActAs = (c: Ctx, author: string) =>
  author === `urn:li:person:${c.token!.userId}` ||
  (ORG.test(author) &&
    c.token!.scopes.includes('w_organization_social') &&
    !!c.state.members.get(c.token!.userId)?.organizations.includes(author));

/**
 * Who may read an author's posts: the member's own need the restricted `r_member_social`
 * ("restricted and is available to approved users only"); a page's need
 * `r_organization_social` and a role on the page
 * (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api, Permissions).
 */
export const mayRead = (c: Ctx, author: string) =>
  author === `urn:li:person:${c.token!.userId}`
    ? c.token!.scopes.includes('r_member_social')
    : ORG.test(author) &&
      c.token!.scopes.includes('r_organization_social') &&
      !!c.state.members.get(c.token!.userId)?.organizations.includes(author);
