import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createLogger, createRedisConnection } from '../../core/index.js';
import { buildApp } from '../../server/app.js';
import { Histogram, Registry, type Metric } from 'prom-client';
import { DURATION_BUCKETS_S, queueDepthOf, RequestDurations } from '../../server/plugins/metrics.js';
import { SUBPROTOCOL } from '../../server/ws/index.js';
import { startApiEnv, type ApiEnv } from '../helpers/api-env.js';

/** One sample's value from a Prometheus text exposition, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function scrape(api: ApiEnv, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${api.baseUrl}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
}

describe('/metrics without a token', () => {
  let api: ApiEnv;
  beforeAll(async () => {
    api = await startApiEnv();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('labels request durations by route pattern, never by raw URL', async () => {
    const p = await api.signUp();
    const id = randomUUID();
    await fetch(`${api.baseUrl}/v1/workspace`, { headers: p.auth });
    await fetch(`${api.baseUrl}/v1/invitations/${id}`, { method: 'DELETE', headers: p.auth });
    await fetch(`${api.baseUrl}/no/such/${id}`);

    const text = await scrape(api);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    const count = (route: string, status: string, method = 'GET') =>
      sample(text, 'herald_http_request_duration_seconds_count', { method, route, status_code: status });
    expect(count('/v1/workspace', '200')).toBe(1);
    expect(count('/v1/auth/signup', '201', 'POST')).toBe(1);
    expect(count('/v1/invitations/:id', '404', 'DELETE')).toBe(1);
    expect(count('unmatched', '404')).toBe(1);
    expect(text).not.toContain(id);
    expect(text).toMatch(
      /herald_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/v1\/workspace"/,
    );
  });

  it('counts open WebSocket connections', async () => {
    const p = await api.signUp();
    const before = sample(await scrape(api), 'herald_ws_connections_open')!;
    const ws = new WebSocket(`${api.baseUrl.replace('http', 'ws')}/v1/ws`, [SUBPROTOCOL], { headers: p.auth });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    try {
      expect(sample(await scrape(api), 'herald_ws_connections_open')).toBe(before + 1);
    } finally {
      const closed = new Promise((r) => ws.once('close', r));
      ws.close();
      await closed;
    }
    await expect.poll(async () => sample(await scrape(api), 'herald_ws_connections_open')).toBe(before);
  });

  it('reports the publish queue depth by state', async () => {
    const id = randomUUID();
    const before = sample(await scrape(api), 'herald_publish_queue_jobs', { state: 'delayed' })!;
    await api.env.deps.queue.enqueue({ workspaceId: randomUUID(), id, scheduledAt: new Date(Date.now() + 3_600_000) });
    try {
      const text = await scrape(api);
      expect(sample(text, 'herald_publish_queue_up')).toBe(1);
      expect(sample(text, 'herald_publish_queue_jobs', { state: 'delayed' })).toBe(before + 1);
      for (const state of ['waiting', 'active', 'failed']) {
        expect(sample(text, 'herald_publish_queue_jobs', { state })).toBeGreaterThanOrEqual(0);
      }
    } finally {
      await api.env.deps.queue.remove(id);
    }
  });

  it('answers loopback clients only, and is neither authenticated nor rate limited', async () => {
    const remote = await api.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.7' });
    expect(remote.statusCode).toBe(404);
    expect(remote.json().error.code).toBe('not_found');
    const local = await api.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '::ffff:127.0.0.1' });
    expect(local.statusCode).toBe(200);
    expect(local.headers['ratelimit-limit']).toBeUndefined();
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  const token = 'metrics-token-0123456789';
  let api: ApiEnv;
  beforeAll(async () => {
    api = await startApiEnv({ metricsToken: token });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('requires the bearer token, even from loopback', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: token },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${api.baseUrl}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    const text = await scrape(api, { authorization: `Bearer ${token}` });
    expect(sample(text, 'herald_ws_connections_open')).toBeGreaterThanOrEqual(0);
    // A user's access token is not the metrics token.
    const p = await api.signUp();
    expect((await fetch(`${api.baseUrl}/metrics`, { headers: p.auth })).status).toBe(401);
  });
});

describe('/metrics with Redis down', () => {
  it('still answers promptly, without queue figures', async () => {
    // Nothing listens on this port; a worker-purpose connection (as the runtime's) waits for
    // Redis to come back instead of failing the command.
    const connection = createRedisConnection(`redis://127.0.0.1:${await getPort({ host: '127.0.0.1' })}`, {
      purpose: 'worker',
    });
    const queue = new Queue('herald-publish', { connection });
    queue.on('error', () => undefined);
    const app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      checks: [],
      isDraining: () => false,
      metrics: { queueDepth: queueDepthOf(queue), queueDepthTimeoutMs: 200 },
    });
    try {
      const started = performance.now();
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(sample(res.body, 'herald_publish_queue_up')).toBe(0);
      expect(sample(res.body, 'herald_publish_queue_jobs', { state: 'waiting' })).toBeUndefined();
    } finally {
      await app.close();
      // queue.close() would wait for a connection that never comes.
      connection.disconnect();
    }
  });
});

describe('request durations', () => {
  it("are exposed exactly as prom-client's Histogram exposes the same observations", async () => {
    const ours = new RequestDurations();
    const theirs = new Histogram({
      name: ours.name,
      help: ours.help,
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: DURATION_BUCKETS_S,
      registers: [],
    });
    const observations: Array<[string, string, number, number]> = [
      ['GET', '/l/:code', 302, 0.0004],
      ['GET', '/l/:code', 302, 0.005], // on a bound
      ['POST', '/v1/posts', 201, 0.7],
      ['GET', '/l/:code', 302, 11], // past the last bound: +Inf only
      ['GET', 'unmatched', 404, 0.01],
    ];
    for (const [method, route, status, seconds] of observations) {
      ours.observe(method, route, status, seconds);
      theirs.observe({ method, route, status_code: status }, seconds);
    }
    const a = new Registry();
    a.registerMetric(ours as unknown as Metric);
    const b = new Registry();
    b.registerMetric(theirs);
    expect(await a.metrics()).toBe(await b.metrics());
  });
});
