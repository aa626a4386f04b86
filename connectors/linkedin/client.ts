/**
 * Transport for LinkedIn's REST API: the one function every call goes through. It sends the
 * bearer token, the `LinkedIn-Version` (YYYYMM) and `X-Restli-Protocol-Version: 2.0.0`
 * headers on `/rest/*` calls, a JSON, form or raw body, bounds the wait, parses JSON and turns
 * failures into typed errors. Rest.li 2.0 query values such as `List(urn%3Ali%3A...)` must
 * keep their parentheses, so callers pass those as `rawQuery`, already encoded.
 */
import { fetchAnswer } from '../http.js';
import { classify, classifyNetworkError } from './errors.js';

export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_API_URL = 'https://api.linkedin.com';
export const DEFAULT_OAUTH_URL = 'https://www.linkedin.com';
/** The monthly API version Herald was written against (LinkedIn supports each for a year). */
export const DEFAULT_LINKEDIN_VERSION = '202610';

export interface Transport {
  /** `https://api.linkedin.com`, or a fake's base URL. */
  apiUrl: string;
  timeoutMs: number;
  version: string;
  accessToken?: string;
  canRefresh?: boolean;
}

export interface LiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** A path under `apiUrl`, or an absolute URL (upload URLs). */
  path: string;
  query?: Record<string, string | number | undefined>;
  /** Appended as is after `query` (already encoded Rest.li values). */
  rawQuery?: string;
  json?: unknown;
  form?: URLSearchParams;
  bytes?: Buffer;
  headers?: Record<string, string>;
  /** Non-2xx statuses answered as data instead of thrown. */
  accept?: readonly number[];
  timeoutMs?: number;
}

export interface LiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export function urlOf(t: Pick<Transport, 'apiUrl'>, req: Pick<LiRequest, 'path' | 'query' | 'rawQuery'>): URL {
  const url = /^https?:\/\//.test(req.path) ? new URL(req.path) : new URL(t.apiUrl.replace(/\/+$/, '') + req.path);
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  if (req.rawQuery) url.search = url.search ? `${url.search}&${req.rawQuery}` : `?${req.rawQuery}`;
  return url;
}

export async function liRequest<T = unknown>(t: Transport, req: LiRequest): Promise<LiResponse<T>> {
  const url = urlOf(t, req);
  const what = `${req.method} ${url.pathname}`;
  const timeoutMs = req.timeoutMs ?? t.timeoutMs;
  const headers = new Headers({ accept: 'application/json', ...req.headers });
  if (t.accessToken) headers.set('authorization', `Bearer ${t.accessToken}`);
  if (url.pathname.startsWith('/rest/')) {
    headers.set('linkedin-version', t.version);
    headers.set('x-restli-protocol-version', '2.0.0');
  }
  let body: string | URLSearchParams | Uint8Array | undefined;
  if (req.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(req.json);
  } else if (req.form) body = req.form;
  else if (req.bytes) {
    headers.set('content-type', 'application/octet-stream');
    body = new Uint8Array(req.bytes);
  }
  const res = await fetchAnswer(url, { method: req.method, headers, body }, timeoutMs, (err) =>
    classifyNetworkError(err, { method: req.method, what, timeoutMs }),
  );
  if (res.ok || req.accept?.includes(res.status))
    return { status: res.status, headers: res.headers, body: res.body as T };
  throw classify(res.status, res.body, res.headers, { method: req.method, what, canRefresh: t.canRefresh ?? false });
}

/** Warn this long before the configured version's sunset. */
export const VERSION_SUNSET_WARNING_DAYS = 60;

/**
 * When LinkedIn may stop serving a `LinkedIn-Version` (YYYYMM): versions are "supported and
 * stable for a minimum of one year before sunset"
 * (https://learn.microsoft.com/en-us/linkedin/marketing/versioning), so a year after its month.
 */
export function versionSunset(version: string): Date {
  const year = Number(version.slice(0, 4));
  const month = Number(version.slice(4, 6));
  return new Date(Date.UTC(year + 1, month - 1, 1));
}

export interface VersionCheck {
  version: string;
  /** The earliest date LinkedIn may retire it. */
  sunsetAt: Date;
  /** Within {@link VERSION_SUNSET_WARNING_DAYS} of that date: time to move to a newer version. */
  nearSunset: boolean;
}

/**
 * Asks LinkedIn whether it still serves the configured version, before any member call: a
 * retired version answers every `/rest/*` call 426, ahead of authentication, so an
 * unauthenticated call is enough (a served version answers it 401). Throws a
 * `version_retired` PermanentError when the version is gone.
 */
export async function checkLinkedInVersion(
  t: Pick<Transport, 'apiUrl' | 'timeoutMs' | 'version'>,
  now = Date.now(),
): Promise<VersionCheck> {
  // A 426 throws here (classify: `version_retired`); anything else means the version is served.
  await liRequest(t, {
    method: 'GET',
    path: '/rest/posts',
    query: { q: 'author', author: 'urn:li:person:0', count: 1 },
    accept: [400, 401, 403, 404],
  });
  const sunsetAt = versionSunset(t.version);
  return {
    version: t.version,
    sunsetAt,
    nearSunset: sunsetAt.getTime() - now < VERSION_SUNSET_WARNING_DAYS * 86_400_000,
  };
}
