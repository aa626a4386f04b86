/**
 * Liveness and readiness. `/health` answers 200 while the process serves HTTP and every
 * liveness check passes: those are the parts only a restart can mend (embedded PGlite, whose
 * memory one bad query could corrupt for every tenant), so a supervisor restarts the process
 * when they stop answering. `/ready` checks each dependency with a deadline and answers 503 —
 * naming what fails and why — when any required one fails or the process is shutting down.
 * Ollama is reported but optional.
 */
import type { FastifyInstance } from 'fastify';

export interface ReadinessCheck {
  name: string;
  /** Optional checks are reported but do not make the process unready. */
  optional?: boolean;
  /** Also a liveness check: when it fails, `/health` fails too (a restart is the cure). */
  liveness?: boolean;
  run(timeoutMs: number): Promise<void>;
}

export interface HealthRoutesOptions {
  checks: ReadinessCheck[];
  isDraining: () => boolean;
  timeoutMs?: number;
}

type CheckResult =
  { ok: true; ms: number; optional?: true } | { ok: false; ms: number; reason: string; optional?: true };

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check.run(timeoutMs),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return {
      ok: true,
      ms: Math.round(performance.now() - started),
      ...(check.optional ? { optional: true as const } : {}),
    };
  } catch (err) {
    return {
      ok: false,
      ms: Math.round(performance.now() - started),
      reason: (err as Error).message,
      ...(check.optional ? { optional: true as const } : {}),
    };
  } finally {
    clearTimeout(timer);
  }
}

export async function healthRoutes(app: FastifyInstance, opts: HealthRoutesOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 1_000;

  const liveness = opts.checks.filter((c) => c.liveness);
  app.get('/health', { logLevel: 'warn' }, async (_request, reply) => {
    if (liveness.length === 0) return { status: 'ok' };
    const results = await Promise.all(liveness.map(async (c) => [c.name, await runCheck(c, timeoutMs)] as const));
    const alive = results.every(([, r]) => r.ok);
    return reply
      .status(alive ? 200 : 503)
      .send({ status: alive ? 'ok' : 'failing', checks: Object.fromEntries(results) });
  });

  app.get('/ready', { logLevel: 'warn' }, async (_request, reply) => {
    const results = await Promise.all(opts.checks.map(async (c) => [c.name, await runCheck(c, timeoutMs)] as const));
    const checks = Object.fromEntries(results);
    const draining = opts.isDraining();
    const ready = !draining && results.every(([name, r]) => r.ok || opts.checks.find((c) => c.name === name)?.optional);
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ok' : draining ? 'draining' : 'failing', checks });
  });
}
