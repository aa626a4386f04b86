/**
 * Zod building blocks shared by route schemas. Objects are strict: an unknown field is a 400,
 * so a misspelt option never silently does nothing.
 */
import { z } from 'zod';
import { assertTimeZone } from '../../tools/scheduling/index.js';

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

export const Ok = z.object({ ok: z.literal(true) });
