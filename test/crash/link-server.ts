/**
 * A child process for the click crash test: the real API (`buildApp` through `startApiEnv`)
 * on PostgreSQL (`LINK_CRASH_DATABASE_URL`) and Redis (`TEST_REDIS_URL`), serving `/l/:code`
 * with its clicks through a journal in `LINK_CRASH_JOURNAL_DIR` as on a runtime, and a click
 * drainer running beside it as on an `all` process. Prints one JSON line
 * `{ "url", "prefix" }` when it listens; it is meant to be SIGKILLed.
 */
import { createLogger, createRedisConnection, openDatabase } from '../../core/index.js';
import { ClickDrainer } from '../../tools/links/index.js';
import { startApiEnv } from '../helpers/api-env.js';
import { REDIS_URL } from '../helpers/publishing-env.js';

const url = process.env.LINK_CRASH_DATABASE_URL;
if (!url) throw new Error('LINK_CRASH_DATABASE_URL is needed');
const database = await openDatabase({ kind: 'postgres', url, poolMax: 4 });
const api = await startApiEnv({ database, linksJournalDir: process.env.LINK_CRASH_JOURNAL_DIR! });
new ClickDrainer({
  db: database.db,
  redis: createRedisConnection(REDIS_URL, { purpose: 'worker' }),
  keyPrefix: api.env.prefix,
  logger: createLogger({ level: 'silent' }),
  batchSize: 100,
}).start();
process.stdout.write(`${JSON.stringify({ url: api.baseUrl, prefix: api.env.prefix })}\n`);
