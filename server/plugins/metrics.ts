/**
 * `GET /metrics` in the Prometheus text format, from a registry owned by this app (not
 * prom-client's global one, so several apps in one process never collide): Node process
 * metrics, HTTP request durations by method, route pattern and status, open WebSocket
 * connections, and the publish queue's depth by state, read at scrape time.
 *
 * Access: with a token configured, a scrape must send `Authorization: Bearer <token>`
 * (compared in constant time) or gets 401. Without one, only loopback clients may scrape;
 * anyone else gets the same 404 as an unknown route, so the endpoint's existence is not
 * advertised. The route sits outside `/v1`: no user authentication, no rate limit.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Gauge, Registry, type Metric } from 'prom-client';
import { HeraldError } from '../../core/index.js';
import { wsStats } from '../ws/index.js';

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
export type QueueDepth = Record<(typeof QUEUE_STATES)[number], number>;

/** How long a scrape waits for the queue counts before reporting them as unavailable. */
export const DEFAULT_QUEUE_DEPTH_TIMEOUT_MS = 1_000;
/** Seconds; spans a cached read (~1 ms) to a slow upload. */
export const DURATION_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Label of requests that matched no route, so scanners cannot create one series per URL. */
export const UNMATCHED_ROUTE = 'unmatched';

export interface MetricsOptions {
  /** Bearer token scrapes must present; unset: loopback clients only. */
  token?: string | undefined;
  /** Publish queue job counts; omitted, no queue gauges are exported. */
  queueDepth?: () => Promise<QueueDepth>;
  /** Default {@link DEFAULT_QUEUE_DEPTH_TIMEOUT_MS}. */
  queueDepthTimeoutMs?: number;
}

/** What {@link queueDepthOf} needs of a BullMQ `Queue`. */
export interface JobCounter {
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

/** Reads a BullMQ queue's depth by state, for {@link MetricsOptions.queueDepth}. */
export function queueDepthOf(queue: JobCounter): () => Promise<QueueDepth> {
  return async () => {
    const counts = await queue.getJobCounts(...QUEUE_STATES);
    return {
      waiting: counts.waiting ?? 0,
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      failed: counts.failed ?? 0,
    };
  };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The route's pattern (`/v1/posts/:id`), never the raw URL: label values must stay few. */
function routeLabel(request: FastifyRequest): string {
  return request.routeOptions.url ?? UNMATCHED_ROUTE;
}

type LabelValues = Record<string, string | number>;

/**
 * The request-duration histogram, counted here and read by prom-client's registry at scrape
 * time (a registry takes any metric with `get()`; the text is prom-client's own). prom-client's
 * `Histogram` converts, validates and hashes the labels on every `observe`, even through a kept
 * `labels()` child — about 4% of a cheap request (`GET /l/:code`); a series kept here costs a
 * map lookup, a bucket search and three additions.
 */
export class RequestDurations {
  readonly name = 'herald_http_request_duration_seconds';
  readonly help = 'HTTP request duration, by method, route pattern and status code';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, { labels: LabelValues; buckets: number[]; sum: number; count: number }>();

  observe(method: string, route: string, statusCode: number, seconds: number): void {
    const key = `${method} ${statusCode} ${route}`;
    let s = this.#series.get(key);
    if (!s) {
      s = {
        labels: { method, route, status_code: statusCode },
        buckets: DURATION_BUCKETS_S.map(() => 0),
        sum: 0,
        count: 0,
      };
      this.#series.set(key, s);
    }
    let i = 0;
    while (i < DURATION_BUCKETS_S.length && seconds > DURATION_BUCKETS_S[i]!) i++;
    if (i < DURATION_BUCKETS_S.length) s.buckets[i]!++;
    s.sum += seconds;
    s.count++;
  }

  /** What prom-client's `Histogram.get()` returns: cumulative buckets, `+Inf`, sum and count per series. */
  get() {
    const values: Array<{ labels: LabelValues; value: number; metricName: string }> = [];
    for (const s of this.#series.values()) {
      let acc = 0;
      DURATION_BUCKETS_S.forEach((le, i) => {
        acc += s.buckets[i]!;
        values.push({ labels: { le, ...s.labels }, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.#series.clear();
  }
}

function buildRegistry(app: FastifyInstance, opts: MetricsOptions): { registry: Registry; http: RequestDurations } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const http = new RequestDurations();
  registry.registerMetric(http as unknown as Metric);
  new Gauge({
    name: 'herald_ws_connections_open',
    help: 'WebSocket connections open in this process',
    registers: [registry],
    collect() {
      this.set(wsStats().openConnections);
    },
  });
  new Gauge({
    name: 'herald_ws_turns_running',
    help: 'Chat turns running in this process',
    registers: [registry],
    collect() {
      this.set(wsStats().turnsRunning);
    },
  });
  const { queueDepth } = opts;
  if (queueDepth) {
    const timeoutMs = opts.queueDepthTimeoutMs ?? DEFAULT_QUEUE_DEPTH_TIMEOUT_MS;
    const up = new Gauge({
      name: 'herald_publish_queue_up',
      help: '1 when the last scrape read the publish queue counts from Redis, 0 when it could not',
      registers: [registry],
    });
    new Gauge({
      name: 'herald_publish_queue_jobs',
      help: 'Publish queue jobs by state (shared by every process using the same Redis and prefix)',
      labelNames: ['state'] as const,
      registers: [registry],
      async collect() {
        try {
          const depth = await withTimeout(queueDepth(), timeoutMs);
          for (const state of QUEUE_STATES) this.set({ state }, depth[state]);
          up.set(1);
        } catch (err) {
          // Stale figures would look healthy: export none and say why.
          this.reset();
          up.set(0);
          app.log.warn({ err }, 'publish queue depth unavailable for /metrics');
        }
      },
    });
  }
  return { registry, http };
}

export const metricsPlugin = fp(
  async (app: FastifyInstance, opts: MetricsOptions) => {
    const { registry, http } = buildRegistry(app, opts);
    const expected = opts.token ? sha256(opts.token) : undefined;

    app.addHook('onResponse', (request, reply, done) => {
      http.observe(request.method, routeLabel(request), reply.statusCode, reply.elapsedTime / 1000);
      done();
    });

    app.route({
      method: 'GET',
      url: '/metrics',
      schema: { hide: true },
      config: { rateLimit: false },
      handler: async (request, reply) => {
        if (expected) {
          const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
          // Hashing first makes both sides the same length, as timingSafeEqual requires.
          if (!m || !timingSafeEqual(sha256(m[1]!), expected)) {
            reply.header('www-authenticate', 'Bearer realm="metrics"');
            throw new HeraldError('unauthorized', { message: 'Send the metrics token as "Bearer <token>"' });
          }
        } else if (
          !isLoopback(request.socket.remoteAddress) ||
          request.headers['x-forwarded-for'] !== undefined ||
          request.headers.forwarded !== undefined
        ) {
          // The socket's address, not request.ip: a forwarded header must not make a client
          // local. And a request that came through a proxy on this host is not local either,
          // though its socket is: without METRICS_TOKEN, the proxy must not open /metrics.
          throw new HeraldError('not_found', { message: 'No route GET /metrics' });
        }
        reply.header('content-type', registry.contentType);
        return registry.metrics();
      },
    });
  },
  { name: 'herald-metrics' },
);
