/**
 * The click drainer for bench:links, in a process of its own as on a worker (in the bench's
 * own process it would share autocannon's event loop and slow the load generator, not Herald).
 * Drains `QUEUE_PREFIX`'s click stream into `DATABASE_URL` from start; on the message `finish`
 * it waits for the stream to be empty (at most 120 s) and answers `{ backlog }`; on the message
 * `exit` it closes and exits (so the bench can read its and its database backends' CPU time
 * first).
 */
import { createLogger, openDatabase } from '../core/index.js';
import { startClickDrainer } from '../tools/links/index.js';

const database = await openDatabase({ kind: 'postgres', url: process.env.DATABASE_URL!, poolMax: 4 });
const drain = startClickDrainer({
  db: database.db,
  redisUrl: process.env.REDIS_URL!,
  keyPrefix: process.env.QUEUE_PREFIX!,
  logger: createLogger({ level: 'silent' }),
});
process.on('message', (m) => {
  if (m === 'exit')
    void (async () => {
      await drain.close();
      await database.close();
      process.exit(0);
    })();
  if (m !== 'finish') return;
  void (async () => {
    const deadline = Date.now() + 120_000;
    let backlog = await drain.drainer.backlog();
    while (backlog > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      backlog = await drain.drainer.backlog();
    }
    // Its connections stay open until `exit`, so their CPU time can be read.
    process.send!({ backlog });
  })();
});
process.send!({ ready: true });
