/**
 * Shared pieces of the fake X's routes: the reply and route shapes and X's error bodies
 * (problem JSON `{title, detail, type, status}`, OAuth `{error, error_description}`).
 */
import type { IncomingMessage } from 'node:http';
import type { FakeToken, XFakeState } from './fake-state.js';

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | 'hang';
export type Params = { get(name: string): string | undefined; json: Record<string, unknown>; files: Map<string, Blob> };
export interface Ctx {
  state: XFakeState;
  req: IncomingMessage;
  url: URL;
  params: Params;
  match: RegExpExecArray;
  token: FakeToken | null;
}
export interface Route {
  method: string;
  path: RegExp;
  auth?: boolean;
  /** Creating a post: the call injected faults apply to. */
  creates?: boolean;
  /** Reading posts: refused to an app without read access. */
  reads?: boolean;
  handle(c: Ctx): Reply | Promise<Reply>;
}

export const json = (status: number, body?: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});
export const problem = (status: number, title: string, detail: string) =>
  json(status, { title, detail, type: 'about:blank', status });
export const oauthError = (status: number, error: string, description: string) =>
  json(status, { error, error_description: description });
