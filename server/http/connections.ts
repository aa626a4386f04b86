/**
 * What the HTTP server does with connections before any route runs: how long a client may
 * take to send its headers and its whole request, how long a kept-alive connection may wait, and
 * how a request Node cannot parse (malformed HTTP, headers or URL over 16 KB, a timeout) is
 * answered — in the one error shape, with `Connection: close`, since the connection cannot be
 * reused after it. Documented in the README's configuration table and docs/api.md.
 */
import type { Socket } from 'node:net';
import { HeraldError, type ErrorCode } from '../../core/index.js';

export interface HttpTimeouts {
  /** The request line and headers must arrive within this (`HTTP_HEADERS_TIMEOUT_MS`). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (`HTTP_REQUEST_TIMEOUT_MS`). */
  requestTimeoutMs: number;
  /**
   * A kept-alive connection with no new request for this long is closed (`HTTP_IDLE_TIMEOUT_MS`).
   * A request being handled is not idle: a handler may take long without sending a byte.
   */
  idleTimeoutMs: number;
  /** How often Node looks for requests past their deadlines. Default 1 s. */
  checkIntervalMs?: number;
}

export const DEFAULT_HTTP_TIMEOUTS: Readonly<Required<HttpTimeouts>> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  idleTimeoutMs: 60_000,
  checkIntervalMs: 1_000,
});

/** Fastify's server options for these timeouts. */
export function timeoutOptions(t: HttpTimeouts) {
  // Node refuses a headers deadline later than the request's.
  const headersTimeout = Math.min(t.headersTimeoutMs, t.requestTimeoutMs);
  return {
    requestTimeout: t.requestTimeoutMs,
    // No socket inactivity timeout: it would also cut a handler that works quietly for long.
    connectionTimeout: 0,
    keepAliveTimeout: t.idleTimeoutMs,
    http: {
      headersTimeout,
      requestTimeout: t.requestTimeoutMs,
      connectionsCheckingInterval: t.checkIntervalMs ?? DEFAULT_HTTP_TIMEOUTS.checkIntervalMs,
    },
  };
}

function answerFor(err: NodeJS.ErrnoException): { status: number; reason: string; code: ErrorCode; message?: string } {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { status: 408, reason: 'Request Timeout', code: 'request_timeout' };
  if (err.code === 'HPE_HEADER_OVERFLOW')
    return { status: 431, reason: 'Request Header Fields Too Large', code: 'headers_too_large' };
  return { status: 400, reason: 'Bad Request', code: 'validation_failed', message: 'The request is not valid HTTP' };
}

/** Fastify's `clientErrorHandler`: the one error shape, then the connection is closed. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, reason, code, message } = answerFor(err);
  const body = JSON.stringify(new HeraldError(code, message ? { message } : {}).toJSON());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
