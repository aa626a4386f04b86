/**
 * REST rate limits: counted in Redis per user and per API key, so two API processes share
 * one budget; over it, 429 `rate_limited` with `Retry-After` and the `ratelimit-*` headers,
 * while other users and keys carry on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../../core/index.js';
import { buildApp } from '../../server/app.js';
import { startApiEnv, type ApiEnv } from '../helpers/api-env.js';

const LIMIT = 6;
let api: ApiEnv;
let second: FastifyInstance;

beforeAll(async () => {
  api = await startApiEnv({ limits: { rateLimitPerMinute: LIMIT } });
  // A second API process on the same database and Redis.
  second = await buildApp({
    logger: createLogger({ level: 'silent' }),
    checks: [],
    isDraining: () => false,
    api: api.deps,
  });
});
afterAll(async () => {
  await second?.close();
  await api?.close();
});

describe('rate limits', () => {
  it('one budget per user across processes; API keys and other users count separately', async () => {
    const me = await api.signUp();
    const other = await api.signUp();
    const key = (
      await api.app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: me.auth,
        payload: { name: 'bot', scopes: ['read'] },
      })
    ).json().secret as string;
    // Signing up and creating the key used none of the user's budget (auth routes count per address).
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      const app = i % 2 ? second : api.app;
      statuses.push((await app.inject({ method: 'GET', url: '/v1/workspace', headers: me.auth })).statusCode);
    }
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(LIMIT);
    expect(statuses.slice(-2)).toEqual([429, 429]);

    const limited = await second.inject({ method: 'GET', url: '/v1/workspace', headers: me.auth });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error).toMatchObject({ code: 'rate_limited', details: { limit: LIMIT } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['ratelimit-limit']).toBe(String(LIMIT));
    expect(limited.headers['ratelimit-remaining']).toBe('0');

    const viaKey = await api.app.inject({ method: 'GET', url: '/v1/workspace', headers: { 'x-api-key': key } });
    expect(viaKey.statusCode).toBe(200);
    const someoneElse = await second.inject({ method: 'GET', url: '/v1/workspace', headers: other.auth });
    expect(someoneElse.statusCode).toBe(200);
  });
});
