/**
 * Builds the Fastify application: request ids, the logger, the error shape, limits and the
 * feature plugins. Routes call services; nothing here decides business rules.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { HeraldError, type Logger } from '../core/index.js';
import { clientErrorHandler, DEFAULT_HTTP_TIMEOUTS, timeoutOptions, type HttpTimeouts } from './http/connections.js';
import { lazyChildLoggerFactory } from './http/request-logger.js';
import { errorsPlugin } from './plugins/errors.js';
import { inputGuardPlugin } from './plugins/input-guard.js';
import { metricsPlugin, type MetricsOptions } from './plugins/metrics.js';
import { healthRoutes, type ReadinessCheck } from './routes/health.js';
import { registerApi, type ApiDeps } from './api.js';

/** Largest JSON body accepted by default (media uploads have their own limit). */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

export interface AppOptions {
  logger: Logger;
  checks: ReadinessCheck[];
  isDraining: () => boolean;
  bodyLimitBytes?: number;
  /** The `/v1` API; absent, only the probes are served. */
  api?: ApiDeps;
  /** `/metrics` (Prometheus); absent, not served. */
  metrics?: MetricsOptions;
  /** Header, request and idle deadlines of connections (`HTTP_*_TIMEOUT_MS`); default `DEFAULT_HTTP_TIMEOUTS`. */
  timeouts?: HttpTimeouts;
  /** Whose forwarded headers to believe (`TRUST_PROXY`); defaults to the API's limits, else none. */
  trustProxy?: boolean | readonly string[];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const trustProxyOf = (v: AppOptions['trustProxy']): boolean | string[] =>
  v === undefined ? false : typeof v === 'boolean' ? v : [...v];

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: opts.bodyLimitBytes ?? opts.api?.limits.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    // Behind a TLS proxy, request.ip (rate limits, access log) is the client's only when the
    // proxy's X-Forwarded-For is believed, and only the proxy's (TRUST_PROXY).
    trustProxy: trustProxyOf(opts.trustProxy ?? opts.api?.limits.trustProxy),
    // Accept a caller's request id when it is sane, so logs line up across services.
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    // Requests reaching a closing server get `shutting_down` in the one shape (hook below).
    return503OnClosing: false,
    ...timeoutOptions(opts.timeouts ?? DEFAULT_HTTP_TIMEOUTS),
    // Malformed HTTP, over-long headers or URL, timeouts: the one error shape and Connection: close.
    clientErrorHandler,
    // One line per request, written when it ends (below), instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // `request.log` is made when a request first logs, not for every request.
    childLoggerFactory: lazyChildLoggerFactory,
    // Errors the router raises before any route runs (a malformed URL, an over-long path
    // parameter) get the same error shape as everything else.
    frameworkErrors: (err, _request, res) => {
      const reply = res as unknown as { status(code: number): { send(body: unknown): unknown } };
      void reply.status(400).send(
        new HeraldError('validation_failed', {
          message: err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : 'The URL is malformed',
        }).toJSON(),
      );
    },
  }) as unknown as FastifyInstance;

  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  // The path only: query strings can carry one-time secrets (an OAuth callback's code). The
  // line's fields are fixed and hold no secret, so it skips the logger's redaction pass, which
  // costs more than the rest of the line.
  const accessLog = opts.logger.child({}, { redact: [] });
  app.addHook('onResponse', (request, reply, done) => {
    // A route may opt out (`config: { accessLog: false }`): the tracked-link redirect keeps no
    // visitor's address (docs/links.md).
    if ((request.routeOptions.config as { accessLog?: boolean }).accessLog === false) return done();
    const q = request.url.indexOf('?');
    accessLog.info(
      {
        reqId: request.id,
        method: request.method,
        path: q === -1 ? request.url : request.url.slice(0, q),
        ip: request.ip,
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
    done();
  });
  // While draining, new work is refused with a retryable error; probes still answer. The
  // connection is closed after the answer, so a keep-alive client reconnects elsewhere.
  app.addHook('onRequest', (request, reply, done) => {
    if (opts.isDraining() && request.url !== '/health' && request.url !== '/ready') {
      reply.header('connection', 'close');
      done(new HeraldError('shutting_down'));
      return;
    }
    done();
  });
  await app.register(errorsPlugin);
  await app.register(inputGuardPlugin);
  // First, so its timing hook sees every route registered after it.
  if (opts.metrics) await app.register(metricsPlugin, opts.metrics);
  await app.register(healthRoutes, { checks: opts.checks, isDraining: opts.isDraining });
  if (opts.api) await registerApi(app, opts.api);
  return app;
}
