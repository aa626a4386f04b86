/**
 * Herald's process entry (`npm start`): config -> runtime (keys, database, Redis, Chroma) ->
 * HTTP server. SIGINT/SIGTERM drain: `/ready` turns 503, the server stops accepting and
 * finishes in-flight requests, then children and connections close in reverse order.
 */
import { createLogger, isHeraldError, loadConfig, redactedConfig, type Config } from '../core/index.js';
import { buildApp } from './app.js';
import { drainAndClose } from './http/drain.js';
import type { FastifyInstance } from 'fastify';
import { apiDepsOf, metricsOptionsOf, startRuntime, type Runtime } from './runtime.js';
import type { ReadinessCheck } from './routes/health.js';
import { WEB_CONSOLE_DIR } from './plugins/web-console.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    // Plain stderr: the logger itself is configured from this config.
    process.stderr.write(`${(err as Error).message}\nSee README.md, "Configuration".\n`);
    process.exit(78); // EX_CONFIG
  }
  const logger = createLogger({ level: config.logLevel });
  logger.info({ config: redactedConfig(config) }, 'starting herald');

  let draining = false;
  let shuttingDown: Promise<void> | undefined;
  // What has been started so far, so a signal during boot closes exactly that.
  const started: { runtime?: Runtime; app?: FastifyInstance } = {};

  const shutdown = (signal: string) => {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    draining = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    shuttingDown = (async () => {
      if (started.app) {
        // What is left of the shutdown timeout after the drain, less a margin for the runtime.
        const deadlineMs = Math.max(1_000, config.shutdownTimeoutMs - config.shutdownDrainMs - 2_000);
        await drainAndClose(started.app, { drainMs: config.shutdownDrainMs, deadlineMs, log: logger });
      }
      await started.runtime?.close();
      logger.info('stopped');
      logger.flush();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    started.runtime = await startRuntime(config, logger);
  } catch (err) {
    logger.fatal({ err }, isHeraldError(err) ? err.message : 'start-up failed');
    logger.flush();
    process.exit(1);
  }
  if (draining) return; // a signal arrived during boot; shutdown() owns the exit

  const rt = started.runtime;
  const checks: ReadinessCheck[] = [
    // Embedded PGlite lives in this process: if it stops answering, only a restart mends it.
    // PostgreSQL is a readiness matter (restarting every API node would not bring it back).
    { name: 'db', liveness: rt.database.kind === 'pglite', run: () => rt.database.ping() },
    { name: 'redis', run: async () => void (await rt.redis.ping()) },
    { name: 'chroma', run: (t) => rt.chroma.ping(t) },
  ];
  if (config.ollamaUrl) {
    const ollama = config.ollamaUrl;
    checks.push({
      name: 'ollama',
      optional: true,
      run: async (t) => {
        const res = await fetch(new URL('/api/version', ollama), { signal: AbortSignal.timeout(t) });
        if (!res.ok) throw new Error(`answered ${res.status}`);
      },
    });
  }
  try {
    const app = await buildApp({
      logger,
      checks,
      isDraining: () => draining,
      ...(config.role === 'worker' ? {} : { api: { ...apiDepsOf(rt), console: { root: WEB_CONSOLE_DIR } } }),
      metrics: metricsOptionsOf(rt),
      timeouts: config.http,
    });
    started.app = app;
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    if (draining) return; // a signal arrived meanwhile; shutdown() owns the exit
    // E.g. the port is taken: the runtime's children (Redis, Chroma) must not outlive us.
    const code = (err as NodeJS.ErrnoException).code;
    logger.fatal(
      { err },
      code === 'EADDRINUSE'
        ? `${config.host}:${config.port} is already in use: stop what listens there or set PORT`
        : 'start-up failed',
    );
    await started.app?.close().catch(() => undefined);
    await rt.close();
    logger.flush();
    process.exit(1);
  }
  if (draining) return;
  logger.info({ role: config.role, database: rt.database.kind }, 'herald is up');
}

await main();
