/**
 * The console's REST client: every call goes to Herald's public `/v1` API with the session's
 * access token. Access tokens live in memory only; the refresh token is kept in localStorage
 * so a reload stays signed in. Refresh tokens rotate and a reused one revokes the session
 * (docs/api.md), so concurrent refreshes share one request.
 */

export interface ApiIssue {
  in?: string;
  field?: string;
  message: string;
}

/** An error answer of the API, `{ error: { code, message, details } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  /** Problems listed by `validation_failed`, `invalid_time`, `target_invalid` and the like, one line each. */
  issues(): string[] {
    const d = this.details as { issues?: unknown; targets?: unknown } | undefined;
    const out: string[] = [];
    if (d && Array.isArray(d.issues)) {
      for (const i of d.issues as ApiIssue[]) out.push(i.field ? `${i.field}: ${i.message}` : i.message);
    }
    if (d && Array.isArray(d.targets)) {
      for (const t of d.targets as Array<{ socialAccountId?: string; platform?: string; issues?: ApiIssue[] }>) {
        for (const i of t.issues ?? []) out.push(`${t.platform ?? t.socialAccountId ?? 'target'}: ${i.message}`);
      }
    }
    return out;
  }
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  workspaceId: string;
  userId: string;
}

const REFRESH_KEY = 'herald.refreshToken';

type Listener = (tokens: Tokens | null) => void;

export class Api {
  #tokens: Tokens | null = null;
  #refreshing: Promise<Tokens> | null = null;
  readonly #listeners = new Set<Listener>();

  get tokens(): Tokens | null {
    return this.#tokens;
  }

  onChange(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #set(tokens: Tokens | null): void {
    this.#tokens = tokens;
    if (tokens) localStorage.setItem(REFRESH_KEY, tokens.refreshToken);
    else localStorage.removeItem(REFRESH_KEY);
    for (const fn of this.#listeners) fn(tokens);
  }

  hasStoredSession(): boolean {
    return localStorage.getItem(REFRESH_KEY) !== null;
  }

  async signup(email: string, password: string, timeZone: string, invitationToken?: string): Promise<Tokens> {
    const body = { email, password, timeZone, ...(invitationToken ? { invitationToken } : {}) };
    const t = await this.#send<Tokens>('POST', '/v1/auth/signup', body, false);
    this.#set(t);
    return t;
  }

  async login(email: string, password: string): Promise<Tokens> {
    const t = await this.#send<Tokens>('POST', '/v1/auth/login', { email, password }, false);
    this.#set(t);
    return t;
  }

  /** A new access token (for the stored session, or switched to `workspaceId`). */
  refresh(workspaceId?: string): Promise<Tokens> {
    if (this.#refreshing && !workspaceId) return this.#refreshing;
    // The stored one first: another tab may have rotated it since this tab last refreshed.
    const refreshToken = localStorage.getItem(REFRESH_KEY) ?? this.#tokens?.refreshToken;
    if (!refreshToken) return Promise.reject(new ApiError(401, 'unauthorized', 'Not signed in'));
    const body = workspaceId ? { refreshToken, workspaceId } : { refreshToken };
    const p = this.#send<Tokens>('POST', '/v1/auth/refresh', body, false).then(
      (t) => {
        this.#set(t);
        return t;
      },
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 401) this.#set(null);
        throw err;
      },
    );
    this.#refreshing = p;
    const clear = () => {
      if (this.#refreshing === p) this.#refreshing = null;
    };
    p.then(clear, clear);
    return p;
  }

  async logout(): Promise<void> {
    try {
      if (this.#tokens) await this.#send('POST', '/v1/auth/logout', undefined, true);
    } finally {
      this.#set(null);
    }
  }

  get<T>(path: string): Promise<T> {
    return this.#send<T>('GET', path, undefined, true);
  }
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.#send<T>('POST', path, body ?? {}, true);
  }
  put<T>(path: string, body: unknown): Promise<T> {
    return this.#send<T>('PUT', path, body, true);
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.#send<T>('PATCH', path, body, true);
  }
  delete<T>(path: string): Promise<T> {
    return this.#send<T>('DELETE', path, undefined, true);
  }
  /** A `multipart/form-data` POST (file uploads); the browser sets the boundary. */
  upload<T>(path: string, form: FormData): Promise<T> {
    return this.#send<T>('POST', path, form, true);
  }

  async #send<T>(method: string, path: string, body: unknown, auth: boolean, retried = false): Promise<T> {
    const headers: Record<string, string> = {};
    const form = body instanceof FormData;
    if (body !== undefined && !form) headers['content-type'] = 'application/json';
    if (auth) {
      if (!this.#tokens) await this.refresh();
      headers.authorization = `Bearer ${this.#tokens!.accessToken}`;
    }
    const res = await fetch(path, {
      method,
      headers,
      ...(body !== undefined ? { body: form ? body : JSON.stringify(body) } : {}),
    });
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    const json: unknown = text ? JSON.parse(text) : undefined;
    if (res.ok) return json as T;
    const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    const err = new ApiError(res.status, e?.code ?? 'http_error', e?.message ?? `HTTP ${res.status}`, e?.details);
    if (auth && !retried && err.code === 'token_expired') {
      await this.refresh();
      return this.#send<T>(method, path, body, auth, true);
    }
    throw err;
  }
}

export const api = new Api();
