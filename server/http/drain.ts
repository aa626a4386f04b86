/**
 * The shutdown drain README promises. On SIGTERM the caller marks the process draining; for
 * `drainMs` the server keeps listening, so load balancers read `/ready` 503 `draining` and new
 * or kept-alive requests get `503 shutting_down` with `Connection: close` (retry elsewhere)
 * instead of a refused connection. Then it stops listening, lets in-flight requests finish
 * until `deadlineMs`, and cuts what is still open (a long download, say) with a warning rather
 * than letting the process be killed mid-write by the shutdown timeout.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../core/index.js';

export interface DrainOptions {
  /** How long new requests are answered `shutting_down` before the server stops listening. */
  drainMs: number;
  /** From then, how long in-flight requests may take before their connections are cut. */
  deadlineMs: number;
  log: Pick<Logger, 'info' | 'warn'>;
}

export async function drainAndClose(app: FastifyInstance, opts: DrainOptions): Promise<void> {
  if (opts.drainMs > 0) await new Promise((resolve) => setTimeout(resolve, opts.drainMs));
  let timer: NodeJS.Timeout | undefined;
  const closed = app.close().then(() => 'closed' as const);
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), opts.deadlineMs);
  });
  try {
    if ((await Promise.race([closed, late])) === 'late') {
      opts.log.warn(
        { deadlineMs: opts.deadlineMs },
        'requests still running at the shutdown deadline: closing their connections',
      );
      app.server.closeAllConnections();
      await closed;
    }
  } finally {
    clearTimeout(timer);
  }
}
