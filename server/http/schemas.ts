/**
 * Zod building blocks shared by route schemas. Objects are strict: an unknown field is a 400,
 * so a misspelt option never silently does nothing.
 */
import { z } from 'zod';
import { assertTimeZone } from '../../tools/scheduling/index.js';
import { YEAR_RANGE_MESSAGE, yearInRange } from './input-guard.js';

export { FreeJsonObject } from './input-guard.js';

export const Uuid = z.uuid({ error: 'expected a UUID' });

export const IdParams = z.strictObject({ id: Uuid });

export const TimeZone = z
  .string()
  .max(64)
  .refine(
    (zone) => {
      try {
        assertTimeZone(zone);
        return true;
      } catch {
        return false;
      }
    },
    { error: 'expected an IANA time zone such as Europe/Paris' },
  );

export const Email = z.email({ error: 'expected an email address' }).max(254);

export const RoleName = z.enum(['owner', 'admin', 'editor', 'viewer']);

/** Cursor pagination: `limit` (1-200) and the opaque `cursor` from the previous page. */
export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

/** An instant with its offset (`2026-12-01T09:00:00Z`), in years PostgreSQL and JS both hold. */
export const Instant = z.iso.datetime({ offset: true }).refine(yearInRange, { error: YEAR_RANGE_MESSAGE });

/** A time: an instant with offset (`2026-12-01T09:00:00Z`) or wall-clock in your zone (`2026-12-01T09:00`). */
export const TimeText = z.string().min(10).max(40).refine(yearInRange, { error: YEAR_RANGE_MESSAGE });

export const Ok = z.object({ ok: z.literal(true) });
