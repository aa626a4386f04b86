/**
 * The coach in a running Herald: the notifier every channel delivers through (the WebSocket
 * deliverer built in; Slack, Telegram and email add theirs with `addDeliverer`), and on
 * worker processes the coach's BullMQ schedule and worker, writing through the model router
 * when a provider is configured (else the template writes every message).
 */
import { coachWriter } from '../agent/index.js';
import type { ModelLayer } from '../agent/models/index.js';
import { CoachQueue, startCoachWorker } from '../coach/index.js';
import { createRedisConnection, type Config, type Database, type EventBus, type Logger } from '../core/index.js';
import { Notifier } from '../tools/notifications/index.js';
import type { SchedulingDeps } from '../tools/scheduling/index.js';

export interface CoachRuntime {
  notifier: Notifier;
  close(): Promise<void>;
}

export async function startCoach(opts: {
  config: Config;
  logger: Logger;
  database: Database;
  scheduling: SchedulingDeps;
  events: EventBus;
  models: ModelLayer;
  /** Whether a model provider is configured (else the template writes). */
  hasModel: boolean;
  redisUrl: string;
}): Promise<CoachRuntime> {
  const logger = opts.logger.child({ component: 'coach' });
  const notifier = new Notifier({ db: opts.database.db, events: opts.events, logger });
  if (opts.config.role === 'api') return { notifier, close: async () => undefined };
  const bull = createRedisConnection(opts.redisUrl, { purpose: 'worker', connectionName: 'herald-coach' });
  const queue = new CoachQueue({ connection: bull, prefix: opts.config.queuePrefix });
  await queue.startSchedule();
  const worker = startCoachWorker(
    {
      db: opts.database.db,
      scheduling: opts.scheduling,
      notifier,
      writer: opts.hasModel ? coachWriter(opts.models.router, opts.database.db) : undefined,
      logger,
    },
    queue,
    { connection: bull, prefix: opts.config.queuePrefix },
  );
  return {
    notifier,
    close: async () => {
      await worker.close();
      await queue.close();
      await bull.quit().catch(() => bull.disconnect());
    },
  };
}
