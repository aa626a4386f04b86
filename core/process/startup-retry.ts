/**
 * Waiting for a service that is still starting. Under Compose or Kubernetes, Herald may start
 * before PostgreSQL, Redis or Chroma accept connections (PostgreSQL's image answers only on its
 * Unix socket while it initialises). Rather than exit and lean on a restart loop, start-up
 * retries for a bounded time (`STARTUP_RETRY_MS`), saying on each wait what it waits for and
 * why, and gives up with the last error once the time is spent.
 */
import type { Logger } from 'pino';

export interface StartupRetryOptions {
  /** What is waited for, as people name it: `PostgreSQL`, `Redis`, `Chroma`. */
  service: string;
  /** Where, without credentials: `db:5432`. */
  target: string;
  /** Total time to keep trying; 0 tries once. */
  forMs: number;
  logger?: Logger | undefined;
  /** Errors worth waiting out (refused, not found yet, starting up); others fail at once. Default: all. */
  retryable?: (err: unknown) => boolean;
  /** First pause between attempts; doubles up to `maxDelayMs`. Default 250 ms. */
  initialDelayMs?: number;
  /** Default 2 s. */
  maxDelayMs?: number;
}

export function reasonOf(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return reasonOf(err.errors[0]);
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' && e.message ? e.message : String(err);
  return typeof e?.code === 'string' && !message.includes(e.code) ? `${e.code}: ${message}` : message;
}

/** Runs `attempt` until it resolves, a non-retryable error, or `forMs` is spent (then throws the last error). */
export async function retryAtStartup<T>(opts: StartupRetryOptions, attempt: () => Promise<T>): Promise<T> {
  const started = Date.now();
  let delay = opts.initialDelayMs ?? 250;
  const maxDelay = opts.maxDelayMs ?? 2_000;
  for (let n = 1; ; n++) {
    try {
      const value = await attempt();
      if (n > 1) {
        const waitedMs = Date.now() - started;
        opts.logger?.info(
          { waitingFor: opts.service, target: opts.target, attempts: n, waitedMs },
          `${opts.service} at ${opts.target} answered after ${waitedMs} ms`,
        );
      }
      return value;
    } catch (err) {
      if (opts.retryable && !opts.retryable(err)) throw err;
      const waitedMs = Date.now() - started;
      const left = opts.forMs - waitedMs;
      if (left <= 0) throw err;
      const pause = Math.min(delay, left);
      opts.logger?.warn(
        {
          waitingFor: opts.service,
          target: opts.target,
          attempt: n,
          waitedMs,
          retryForMs: opts.forMs,
          reason: reasonOf(err),
        },
        `waiting for ${opts.service} at ${opts.target} (${reasonOf(err)}); next try in ${pause} ms, giving up ${Math.ceil(left / 1000)} s from now (STARTUP_RETRY_MS)`,
      );
      await new Promise((r) => setTimeout(r, pause));
      delay = Math.min(delay * 2, maxDelay);
    }
  }
}
