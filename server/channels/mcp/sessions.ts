/**
 * Stateful MCP sessions (`MCP_SESSIONS=stateful`): one SDK server and transport per
 * `Mcp-Session-Id`, held in this process's memory. A session belongs to the credentials that
 * opened it (the same API key, OAuth grant or sign-in session in the same workspace); any
 * other caller naming its id is told it does not exist. It ends on `DELETE /mcp`, after
 * `idleMs` without a request, when its owner opens more than `MAX_PER_OWNER` sessions (the
 * oldest goes), or with the process. Every request is authenticated again before it reaches
 * the session, so a revoked key or token cannot use a session it opened.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Principal } from '../../auth/principal.js';

/** Open sessions per owner; a new one past this closes the owner's least recently used. */
export const MAX_PER_OWNER = 20;

export interface McpSession {
  id: string;
  owner: string;
  server: McpServer;
  transport: StreamableHTTPServerTransport;
  /** The service context the session's tools act with, refreshed from each request's principal. */
  ctx: Record<string, unknown>;
  lastSeenMs: number;
}

/** Who a session belongs to: the credential, not just the user (another key of theirs is someone else). */
export function ownerOf(p: Principal): string {
  return [p.kind, p.apiKeyId ?? '', p.sessionId ?? '', p.limitKey, p.workspaceId].join('|');
}

export class McpSessions {
  readonly #sessions = new Map<string, McpSession>();
  readonly #idleMs: number;
  readonly #sweep: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(opts: { idleMs: number; now?: () => number }) {
    this.#idleMs = opts.idleMs;
    this.#now = opts.now ?? Date.now;
    this.#sweep = setInterval(() => this.sweep(), Math.min(30_000, Math.max(1_000, opts.idleMs / 4)));
    this.#sweep.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** The session, if it exists, is live and belongs to `owner`; touching it. */
  get(id: string, owner: string): McpSession | undefined {
    const s = this.#sessions.get(id);
    if (!s || s.owner !== owner) return undefined;
    if (this.#now() - s.lastSeenMs > this.#idleMs) {
      void this.close(id);
      return undefined;
    }
    s.lastSeenMs = this.#now();
    return s;
  }

  add(session: McpSession): void {
    const mine = [...this.#sessions.values()].filter((s) => s.owner === session.owner);
    if (mine.length >= MAX_PER_OWNER) {
      mine.sort((a, b) => a.lastSeenMs - b.lastSeenMs);
      for (const old of mine.slice(0, mine.length - MAX_PER_OWNER + 1)) void this.close(old.id);
    }
    this.#sessions.set(session.id, session);
  }

  /** Forgets the session (the transport closed itself, e.g. on DELETE). */
  forget(id: string): void {
    this.#sessions.delete(id);
  }

  async close(id: string): Promise<void> {
    const s = this.#sessions.get(id);
    if (!s) return;
    this.#sessions.delete(id);
    await s.transport.close().catch(() => undefined);
    await s.server.close().catch(() => undefined);
  }

  sweep(): void {
    const now = this.#now();
    for (const s of [...this.#sessions.values()]) if (now - s.lastSeenMs > this.#idleMs) void this.close(s.id);
  }

  async closeAll(): Promise<void> {
    clearInterval(this.#sweep);
    await Promise.all([...this.#sessions.keys()].map((id) => this.close(id)));
  }
}
