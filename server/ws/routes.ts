/**
 * `GET /v1/ws`: the chat WebSocket. Authenticates at the upgrade (a bad credential gets an
 * HTTP 401 with the usual error body, never an upgraded socket), caps connections per user or
 * API key on this node (4029), re-checks a connection's credential whenever the database
 * notifies a change to its user, key, session or workspace (4001 once it lapsed), and on app close cancels running turns and closes every socket
 * with 1001. The protocol itself is in `session.ts` and `docs/protocol.md`.
 *
 * `@fastify/websocket` is registered here and must not be registered anywhere else: it
 * listens to the HTTP server's `upgrade` event, so a second registration would route each
 * upgrade twice. Voice shares this socket (binary frames, `voice-binding.ts`).
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import websocket, { type WebsocketPluginOptions } from '@fastify/websocket';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { WebSocket } from 'ws';
import { HeraldError } from '../../core/index.js';
import type { Principal } from '../auth/principal.js';
import { authenticate } from '../auth/service.js';
import { credentialOf } from '../plugins/auth.js';
import { EchoChatHandler } from './chat-handler.js';
import { ChatConnection } from './connection.js';
import { wsCounters } from './metrics.js';
import { resolveOptions, type WsOptions } from './options.js';
import { AUTH_SUBPROTOCOL_PREFIX, CLOSE_CODES, errorEvent, SUBPROTOCOL } from './protocol.js';
import type { SessionShared } from './session.js';
import { TurnStore } from './turn-buffer.js';
import { TurnRegistry } from './turn.js';

function offeredProtocols(request: FastifyRequest): string[] {
  const header = request.headers['sec-websocket-protocol'];
  if (typeof header !== 'string') return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/** When a user access token stops being valid; null for API keys (checked at each turn instead). */
function credentialExpiry(principal: Principal, credential: string): Date | null {
  if (principal.kind !== 'user') return null;
  try {
    // Already verified by authenticate(); only its expiry is read here.
    const { exp } = decodeJwt(credential);
    return typeof exp === 'number' ? new Date(exp * 1000) : null;
  } catch {
    return null;
  }
}

export const wsRoutes: FastifyPluginAsync<WsOptions> = async (app: FastifyInstance, opts: WsOptions) => {
  const options = resolveOptions(opts, () => new EchoChatHandler());
  const { deps } = options;
  const log = app.log.child({ component: 'ws' });
  const shared: SessionShared = {
    options,
    log,
    turns: new TurnRegistry({ log }),
    store: new TurnStore(
      deps.redis,
      deps.keyPrefix,
      { maxEvents: options.bufferMaxEvents, maxBytes: options.bufferMaxBytes, ttlMs: options.bufferTtlMs },
      (err) => log.warn({ err }, 'resume buffer write failed'),
    ),
  };
  const connections = new Set<ChatConnection>();
  const perKey = new Map<string, number>();
  /** Set when the app starts closing: an upgrade that finishes after that is turned away. */
  let closing = false;
  const credentials = new WeakMap<FastifyRequest, string>();
  // A change to a user, key, session, membership or workspace (notified by the database) makes
  // the connections it concerns re-check their credential: a removed member's or revoked key's
  // socket closes at once, a demoted one acts with the new role.
  const stopFollowing = deps.auth.principals?.onChange((tag) => {
    for (const conn of connections) if (conn.concerns(tag)) conn.revalidate();
  });

  const serverOptions: NonNullable<WebsocketPluginOptions['options']> & { closeTimeout: number } = {
    maxPayload: deps.limits.wsMaxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    // Not in @types/ws yet: how long a close handshake may take before the socket is destroyed.
    closeTimeout: options.closeTimeoutMs,
  };
  await app.register(websocket, {
    options: serverOptions,
    errorHandler: (err, socket, request) => {
      // ws's own protocol errors (oversize 1009, bad UTF-8 1007) have already closed the socket.
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
        if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') wsCounters.serverClosed(CLOSE_CODES.tooBig);
        request.log.debug({ err }, 'websocket protocol error');
        return;
      }
      request.log.error({ err }, 'websocket failed');
      if (socket.readyState === WebSocket.OPEN) {
        wsCounters.serverClosed(CLOSE_CODES.internal);
        socket.close(CLOSE_CODES.internal, 'internal error');
      }
    },
    preClose: async () => {
      closing = true;
      stopFollowing?.();
      app.server.off('upgrade', guardUpgrade);
      await shared.turns.shutdown();
      for (const conn of connections) conn.close(CLOSE_CODES.goingAway, 'server shutting down');
      await Promise.all([...connections].map((c) => c.closed));
      app.websocketServer.close();
    },
  });

  // @fastify/websocket sends every upgrade request through Fastify, whatever its path. One for
  // another route gets that route's HTTP answer on a socket Node no longer looks after (no
  // keep-alive, no request timeout), which would stay open until the client left. `ws` clears
  // this timeout when it takes a socket over.
  const guardUpgrade = (_request: IncomingMessage, socket: Duplex) => {
    const raw = socket as Socket;
    if (typeof raw.setTimeout === 'function') raw.setTimeout(options.upgradeTimeoutMs, () => raw.destroy());
  };
  app.server.on('upgrade', guardUpgrade);

  // Everything is checked before the upgrade, so a refusal is a plain HTTP answer.
  app.addHook('onRequest', async (request) => {
    if (request.url.includes('?')) {
      throw new HeraldError('validation_failed', {
        message: 'The WebSocket URL takes no query string; send credentials in a header or the subprotocol',
      });
    }
    const offered = offeredProtocols(request);
    if (offered.length > 0 && !offered.includes(SUBPROTOCOL)) {
      throw new HeraldError('validation_failed', { message: `Offer the ${SUBPROTOCOL} subprotocol` });
    }
    const credential =
      credentialOf(request) ??
      offered.find((p) => p.startsWith(AUTH_SUBPROTOCOL_PREFIX))?.slice(AUTH_SUBPROTOCOL_PREFIX.length);
    request.principal = await authenticate(deps.auth, credential);
    credentials.set(request, credential!);
  });

  app.route({
    method: 'GET',
    url: '/ws',
    schema: { hide: true },
    handler: async () => {
      throw new HeraldError('validation_failed', {
        message: 'GET /v1/ws is a WebSocket endpoint: connect with Upgrade: websocket',
      });
    },
    wsHandler: (socket, request) => {
      if (closing) {
        wsCounters.serverClosed(CLOSE_CODES.goingAway);
        socket.close(CLOSE_CODES.goingAway, 'server shutting down');
        return;
      }
      const principal = request.principal!;
      const credential = credentials.get(request)!;
      const max = deps.limits.wsMaxConnectionsPerUser;
      const open = perKey.get(principal.limitKey) ?? 0;
      if (open >= max) {
        const err = new HeraldError('rate_limited', {
          message: `At most ${max} WebSocket connections per user or API key on one server; close one first`,
          details: { maxConnections: max },
        });
        socket.send(JSON.stringify(errorEvent(err)));
        wsCounters.serverClosed(CLOSE_CODES.tooManyConnections);
        socket.close(CLOSE_CODES.tooManyConnections, 'too many connections');
        return;
      }
      perKey.set(principal.limitKey, open + 1);
      const conn = new ChatConnection(shared, socket, {
        principal,
        credential,
        credentialExpiresAt: credentialExpiry(principal, credential),
        log: request.log,
        onClosed: () => {
          connections.delete(conn);
          const left = (perKey.get(principal.limitKey) ?? 1) - 1;
          if (left > 0) perKey.set(principal.limitKey, left);
          else perKey.delete(principal.limitKey);
        },
      });
      connections.add(conn);
      conn.open();
    },
  });
};
