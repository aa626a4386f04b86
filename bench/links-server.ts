/**
 * The server under test for bench:links, run as a child process so autocannon never shares
 * its event loop. `baseline`: a bare Fastify route answering `GET /l/:code` with the same 302
 * (a constant location). `herald`: the API as `server/main.ts` builds it (config from the
 * environment -> runtime -> app), whose `/l/:code` resolves the code and appends the click to
 * the Redis stream before answering. Sends `{ url }` over IPC when listening.
 */
import Fastify from 'fastify';
import { createLogger, loadConfig } from '../core/index.js';
import { buildApp } from '../server/app.js';
import { apiDepsOf, metricsOptionsOf, startRuntime } from '../server/runtime.js';

const mode = process.argv[2];
let close = async () => {};
let app;
if (mode === 'baseline') {
  const location = process.env.BENCH_LOCATION ?? 'https://shop.example/';
  app = Fastify();
  app.get('/l/:code', (_req, reply) => reply.redirect(location, 302));
} else if (mode === 'herald') {
  const config = loadConfig({ readDotenv: false });
  const logger = createLogger({ level: config.logLevel });
  const rt = await startRuntime(config, logger);
  app = await buildApp({
    logger,
    checks: [],
    isDraining: () => false,
    api: apiDepsOf(rt),
    metrics: metricsOptionsOf(rt),
  });
  close = () => rt.close();
} else throw new Error('usage: links-server.ts baseline|herald');

const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.once('SIGTERM', () => {
  void app
    .close()
    .then(close)
    .finally(() => process.exit(0));
});
process.send!({ url });
