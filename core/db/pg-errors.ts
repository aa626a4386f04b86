/**
 * Maps driver errors to Herald's catalogue. Drizzle wraps driver errors, and `pg` and PGlite
 * shape them differently, so the SQLSTATE is looked for along the `cause` chain.
 */
import { HeraldError } from '../errors.js';

function sqlState(err: unknown): { code: string; constraint?: string } | undefined {
  for (
    let e = err as { code?: unknown; constraint?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) {
      return { code: e.code, constraint: typeof e.constraint === 'string' ? e.constraint : undefined };
    }
    e = e.cause as typeof e;
  }
  return undefined;
}

/** Runs `fn`; a unique violation becomes `conflict`, a foreign-key violation `not_found`. */
export async function mapConstraintErrors<T>(fn: () => Promise<T>, what: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const state = sqlState(err);
    if (state?.code === '23505') {
      throw new HeraldError('conflict', {
        message: `${what} already exists`,
        details: { constraint: state.constraint },
        cause: err,
      });
    }
    if (state?.code === '23503') {
      throw new HeraldError('not_found', {
        message: `${what} refers to something that does not exist in this workspace`,
        details: { constraint: state.constraint },
        cause: err,
      });
    }
    throw err;
  }
}
