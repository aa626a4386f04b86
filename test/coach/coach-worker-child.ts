/**
 * A child process for the coach crash test: a coach worker on PostgreSQL
 * (`COACH_CRASH_DATABASE_URL`) and Redis (`TEST_REDIS_URL`) under the queue prefix
 * `COACH_CRASH_PREFIX`, writing through the router to the scripted model at
 * `COACH_CRASH_LLM_URL`, delivering through the Redis event bus. Prints `ready` once its
 * worker runs; it is meant to be SIGKILLed.
 */
import { coachWriter } from '../../agent/index.js';
import { LedgerUsageSink, ModelRegistry, ModelRouter } from '../../agent/models/index.js';
import { CoachQueue, startCoachWorker } from '../../coach/index.js';
import { ConnectorRegistry } from '../../connectors/index.js';
import { createRedisConnection, EventBus, openDatabase } from '../../core/index.js';
import { PublishQueue } from '../../tools/publishing/index.js';
import { Notifier } from '../../tools/notifications/index.js';
import { REDIS_URL } from '../helpers/publishing-env.js';

const url = process.env.COACH_CRASH_DATABASE_URL!;
const prefix = process.env.COACH_CRASH_PREFIX!;
const llmUrl = process.env.COACH_CRASH_LLM_URL!;
const database = await openDatabase({ kind: 'postgres', url, poolMax: 4 });
const redis = createRedisConnection(REDIS_URL);
const bull = createRedisConnection(REDIS_URL, { purpose: 'worker' });
const events = new EventBus(redis, () => createRedisConnection(REDIS_URL, { purpose: 'worker' }));
const router = new ModelRouter({
  registry: new ModelRegistry(),
  providers: { openai: { apiKey: 'sk-test', baseUrl: llmUrl } },
  usage: new LedgerUsageSink(database.db, { cacheMs: 0 }),
  firstTokenTimeoutMs: 60_000,
});
const queue = new CoachQueue({ connection: bull, prefix });
const scheduling = {
  db: database.db,
  connectors: new ConnectorRegistry([]),
  queue: new PublishQueue({ connection: bull, prefix }),
  events,
};
startCoachWorker(
  {
    db: database.db,
    scheduling,
    notifier: new Notifier({ db: database.db, events }),
    writer: coachWriter(router, database.db),
  },
  queue,
  { connection: bull, prefix, lockDurationMs: 2_000, stalledIntervalMs: 1_000 },
);
process.stdout.write('ready\n');
