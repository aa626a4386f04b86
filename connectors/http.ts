/**
 * The one HTTP exchange the fetch-based connectors (X, LinkedIn, Mastodon) share: a request
 * with a deadline, the whole answer read, JSON bodies parsed (anything else kept as text).
 * Getting no complete answer — refused, timed out, cut off mid-body — is handed to the
 * platform's own network classifier, which knows how to word it and whether a write may
 * have gone through; status codes are left to the caller's `classify`.
 */
import type { Dispatcher } from 'undici';
import type { ConnectorError } from './errors.js';
import { checkFence } from './fence.js';

export interface HttpAnswer {
  status: number;
  ok: boolean;
  headers: Headers;
  /** Parsed JSON, the text when not JSON, `null` when empty. */
  body: unknown;
  /** The body as received (int64 ids that JSON numbers cannot hold exactly are read from it). */
  text: string;
}

export async function fetchAnswer(
  url: URL | string,
  /** `dispatcher`: the connection policy for an address a user gave (core/net/outbound). */
  init: { method: string; headers: Headers; body?: RequestInit['body']; dispatcher?: Dispatcher },
  timeoutMs: number,
  networkError: (err: unknown) => ConnectorError,
): Promise<HttpAnswer> {
  // A write for an attempt another worker has taken over never leaves (connectors/fence.ts).
  await checkFence(init.method);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    // Inside the try: the status line may arrive and the body not (a write may have applied).
    text = await res.text();
  } catch (err) {
    throw networkError(err);
  }
  let body: unknown = text === '' ? null : text;
  if (text !== '' && (res.headers.get('content-type') ?? '').includes('json')) {
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      // left as text
    }
  }
  return { status: res.status, ok: res.ok, headers: res.headers, body, text };
}
