/**
 * Herald as an MCP server over Streamable HTTP at `/mcp` (docs/mcp.md), in one of two modes:
 *
 * - `stateless` (default): every POST gets its own MCP server and transport, built for the
 *   caller the request's credentials name, so any API process answers any request without
 *   sticky routing or shared session state. No server-to-client stream: GET and DELETE are
 *   405 and answers are plain JSON.
 * - `stateful`: `initialize` opens a session (`Mcp-Session-Id`) held in this process
 *   (sessions.ts); later POSTs, the GET stream and DELETE go to it. Its SSE streams are
 *   resumable (`GET` with `Last-Event-ID` replays what a dropped stream missed, event-store.ts)
 *   and can carry elicitation requests (`ask_herald`'s confirmations, agent-tools.ts). Needs
 *   sticky routing when several API processes run.
 *
 * Credentials: an `hk_` API key, a Herald access token, or an OAuth access token issued by
 * Herald's authorization server for this resource (server/auth/oauth). Without valid ones
 * the answer is 401 with `WWW-Authenticate: Bearer resource_metadata=...` (RFC 9728), which
 * is how an MCP client discovers where to sign in.
 *
 * Malformed input never reaches a handler as an exception: the body is parsed here, and bad
 * JSON or a bad JSON-RPC message is answered with a JSON-RPC error.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HeraldError, isHeraldError, type Db } from '../../../core/index.js';
import { contextOf } from '../../http/context.js';
import { credentialOf } from '../../plugins/auth.js';
import {
  authenticateOAuth,
  baseUrlOf,
  isOAuthAccessToken,
  resourceMetadataUrlOf,
  resourceOf,
} from '../../auth/oauth/index.js';
import type { Principal } from '../../auth/principal.js';
import { SessionEventStore } from './event-store.js';
import { McpSessions, ownerOf } from './sessions.js';
import { registerResources } from './resources.js';
import { registerTools, serviceContextOf, type McpToolDeps } from './tools.js';

export { registerTools, toolError, type McpToolDeps } from './tools.js';

export const MCP_PATH = '/mcp';
export const MCP_SERVER_NAME = 'herald';
export const MCP_MODES = ['stateless', 'stateful'] as const;
export type McpMode = (typeof MCP_MODES)[number];

export interface McpPluginOptions {
  deps: McpToolDeps;
  version: string;
  db: Db;
  /** `PUBLIC_URL`: names the resource in metadata and tokens; unset, the request's origin. */
  publicUrl: string | undefined;
  /** Default `stateless`. */
  mode?: McpMode | undefined;
  /** Stateful mode: a session without a request for this long is closed. */
  sessionIdleMs?: number | undefined;
}

/** JSON-RPC error codes the transport level answers with. */
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const ACCEPT_BOTH = 'application/json, text/event-stream';
const SESSION_HEADER = 'mcp-session-id';
const INSTRUCTIONS = 'Herald schedules and publishes social-media posts. Times are read in your time zone.';
/** Idle stateless servers kept for reuse. */
const POOL_MAX = 64;

/** Who a stateless request acts for: read by the pooled server's tools at call time. */
interface Caller {
  ctx: ReturnType<typeof serviceContextOf>;
  principal: Principal;
  log: { error(obj: object, msg: string): void };
}

/** An object whose properties are those of `target()` at the moment they are read. */
function forwarding<T extends object>(target: () => T): T {
  return new Proxy({} as T, {
    get: (_t, key) => Reflect.get(target(), key) as unknown,
    has: (_t, key) => Reflect.has(target(), key),
    ownKeys: () => Reflect.ownKeys(target()),
    getOwnPropertyDescriptor: (_t, key) => {
      const d = Reflect.getOwnPropertyDescriptor(target(), key);
      return d ? { ...d, configurable: true } : undefined;
    },
  });
}

function rpcError(reply: FastifyReply, status: number, code: number, message: string, data?: unknown) {
  return reply
    .status(status)
    .type('application/json; charset=utf-8')
    .send({ jsonrpc: '2.0', error: { code, message, ...(data ? { data } : {}) }, id: null });
}

/**
 * The spec asks clients to accept both JSON and SSE; some send neither. We answer in JSON
 * anyway, so the header is completed before the transport (which would refuse with 406) sees it.
 * The SDK rebuilds headers from `rawHeaders`, so both are set.
 */
function completeAccept(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  const both = accept.includes('application/json') && accept.includes('text/event-stream');
  if (both) return true;
  request.raw.headers.accept = ACCEPT_BOTH;
  const raw = request.raw.rawHeaders;
  const i = raw.findIndex((h, n) => n % 2 === 0 && h.toLowerCase() === 'accept');
  if (i >= 0) raw[i + 1] = ACCEPT_BOTH;
  else raw.push('Accept', ACCEPT_BOTH);
  return false;
}

export async function mcpPlugin(app: FastifyInstance, opts: McpPluginOptions): Promise<void> {
  const mode = opts.mode ?? 'stateless';
  // Bodies are taken as text and parsed here, so bad JSON is a JSON-RPC parse error.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  // API keys and Herald tokens as everywhere; OAuth tokens only here, and only for this resource.
  app.addHook('onRequest', async (request, reply) => {
    const base = baseUrlOf(opts, request);
    let credential: string | undefined;
    try {
      credential = credentialOf(request);
      if (isOAuthAccessToken(credential))
        request.principal = await authenticateOAuth(opts.db, credential, resourceOf(base, MCP_PATH));
      else await app.authenticate(request);
    } catch (err) {
      if (isHeraldError(err) && err.status === 401) {
        const error = credential ? 'error="invalid_token", ' : '';
        reply.header('www-authenticate', `Bearer ${error}resource_metadata="${resourceMetadataUrlOf(base, MCP_PATH)}"`);
      }
      throw err;
    }
  });

  /** A stateful session's server; `sse`: its answers are SSE, so it can carry elicitation requests. */
  const newServer = (
    ctx: ReturnType<typeof serviceContextOf>,
    principal: Principal,
    request: FastifyRequest,
    sse: boolean,
  ) => {
    const server = new McpServer(
      { name: MCP_SERVER_NAME, version: opts.version },
      {
        instructions: INSTRUCTIONS,
        capabilities: { resources: {} },
      },
    );
    registerTools(server, opts.deps, ctx, request.log, principal, { canElicit: () => sse });
    registerResources(server, opts.deps, ctx);
    return server;
  };

  const parse = (request: FastifyRequest, reply: FastifyReply): { ok: true; message: unknown } | { ok: false } => {
    try {
      return { ok: true, message: JSON.parse(typeof request.body === 'string' ? request.body : '') };
    } catch {
      void rpcError(reply, 400, PARSE_ERROR, 'Parse error: the body is not JSON');
      return { ok: false };
    }
  };

  const handle = async (
    request: FastifyRequest,
    reply: FastifyReply,
    transport: StreamableHTTPServerTransport,
    message?: unknown,
  ) => {
    reply.hijack();
    try {
      await transport.handleRequest(request.raw, reply.raw, message);
    } catch (err) {
      request.log.error({ err }, 'mcp request failed');
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/json' });
        reply.raw.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }));
      }
    }
  };

  if (mode === 'stateless') {
    /*
     * Building a server and its tools' schemas costs several milliseconds, more than the
     * service call it serves. So servers are built once and pooled: the tools read the
     * caller's context from the request's async context (`current`), not from the server,
     * and a server serves one request at a time (a transport each), going back to the pool
     * when its request is done.
     */
    const current = new AsyncLocalStorage<Caller>();
    const pool: McpServer[] = [];
    const build = () => {
      const server = new McpServer(
        { name: MCP_SERVER_NAME, version: opts.version },
        { instructions: INSTRUCTIONS, capabilities: { resources: {} } },
      );
      const ctx = forwarding(() => current.getStore()!.ctx);
      registerTools(
        server,
        opts.deps,
        ctx,
        { error: (obj, msg) => current.getStore()?.log.error(obj, msg) },
        forwarding(() => current.getStore()!.principal),
        // The request's own principal: its content version is fresh (not a session's).
        { contentVersion: () => current.getStore()?.principal.contentVersion },
      );
      registerResources(server, opts.deps, ctx);
      return server;
    };
    app.post(MCP_PATH, { schema: { hide: true } }, async (request, reply) => {
      const parsed = parse(request, reply);
      if (!parsed.ok) return reply;
      const caller: Caller = {
        ctx: serviceContextOf(contextOf(request, 'viewer', 'mcp')),
        principal: request.principal!,
        log: request.log,
      };
      const server = pool.pop() ?? build();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      completeAccept(request);
      await server.connect(transport);
      try {
        await current.run(caller, () => handle(request, reply, transport, parsed.message));
      } finally {
        // Answered (or the client left): the transport is done, the server free for the next request.
        await server.close().catch(() => undefined);
        if (pool.length < POOL_MAX) pool.push(server);
      }
      return reply;
    });

    // Stateless: no session to stream to or to end.
    const notAllowed = (_req: FastifyRequest, reply: FastifyReply) =>
      rpcError(reply.header('allow', 'POST'), 405, -32000, 'Method not allowed: this server is stateless; POST only');
    app.get(MCP_PATH, { schema: { hide: true } }, notAllowed);
    app.delete(MCP_PATH, { schema: { hide: true } }, notAllowed);
    return;
  }

  const sessions = new McpSessions({ idleMs: opts.sessionIdleMs ?? 30 * 60_000 });
  app.addHook('onClose', async () => sessions.closeAll());

  const sessionNotFound = (reply: FastifyReply) => {
    const err = new HeraldError('mcp_session_not_found');
    return rpcError(reply, 404, -32001, err.message, { code: err.code });
  };

  /** The caller's session, its context refreshed from this request's principal. */
  const sessionOf = (request: FastifyRequest) => {
    const id = request.headers[SESSION_HEADER];
    if (typeof id !== 'string') return undefined;
    const principal = request.principal!;
    const session = sessions.get(id, ownerOf(principal));
    if (session) Object.assign(session.ctx, serviceContextOf(contextOf(request, 'viewer', 'mcp')));
    return session;
  };

  app.post(MCP_PATH, { schema: { hide: true } }, async (request, reply) => {
    const parsed = parse(request, reply);
    if (!parsed.ok) return reply;
    if (request.headers[SESSION_HEADER] !== undefined) {
      const session = sessionOf(request);
      if (!session) return sessionNotFound(reply);
      completeAccept(request);
      return handle(request, reply, session.transport, parsed.message);
    }
    if (!isInitializeRequest(parsed.message))
      return rpcError(
        reply,
        400,
        INVALID_REQUEST,
        'Bad Request: send initialize first, then Mcp-Session-Id on every request',
      );
    const principal = request.principal!;
    const ctx = serviceContextOf(contextOf(request, 'viewer', 'mcp'));
    // A client that does not take SSE is answered in JSON for the whole session.
    const acceptsSse = completeAccept(request);
    const server = newServer(ctx, principal, request, acceptsSse);
    const owner = ownerOf(principal);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: !acceptsSse,
      // SSE streams can be resumed with Last-Event-ID (event-store.ts); JSON answers have nothing to resume.
      ...(acceptsSse ? { eventStore: new SessionEventStore() } : {}),
      onsessioninitialized: (id) =>
        sessions.add({
          id,
          owner,
          server,
          transport,
          ctx: ctx as unknown as Record<string, unknown>,
          lastSeenMs: Date.now(),
        }),
      onsessionclosed: (id) => sessions.forget(id),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.forget(transport.sessionId);
    };
    await server.connect(transport);
    return handle(request, reply, transport, parsed.message);
  });

  // The server-to-client stream (GET) and the end of a session (DELETE).
  const toSession = async (request: FastifyRequest, reply: FastifyReply) => {
    const session = sessionOf(request);
    if (!session) {
      if (request.headers[SESSION_HEADER] === undefined)
        return rpcError(reply, 400, INVALID_REQUEST, 'Bad Request: Mcp-Session-Id header is required');
      return sessionNotFound(reply);
    }
    if (request.method === 'DELETE') {
      await handle(request, reply, session.transport);
      await sessions.close(session.id);
      return reply;
    }
    return handle(request, reply, session.transport);
  };
  app.get(MCP_PATH, { schema: { hide: true } }, toSession);
  app.delete(MCP_PATH, { schema: { hide: true } }, toSession);
}
