/**
 * Posting slots per account, queueing a draft into them, recurring series and CSV import.
 * Routes validate and translate; `tools/scheduling` and `tools/posts` decide, including who
 * may (every route passes the caller's context at the viewer floor and the service checks
 * the role it needs, as it does for the agent).
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import { queuePostDraft } from '../../tools/posts/index.js';
import {
  createSeries,
  CSV_MAX_BYTES,
  getSeries,
  importCsv,
  listSeries,
  listSlots,
  MAX_SLOTS_PER_ACCOUNT,
  pauseSeries,
  resumeSeries,
  setSlots,
  stopSeries,
  updateSeries,
  type SchedulingDeps,
  type ServiceContext,
} from '../../tools/scheduling/index.js';
import { serviceContextOf } from '../http/context.js';
import { FreeJsonObject, IdParams, TimeZone, Uuid } from '../http/schemas.js';

const ctxOf = (req: FastifyRequest): ServiceContext => serviceContextOf(req);

const Slot = z.strictObject({
  weekday: z.number().int().min(1).max(7).describe('ISO weekday: 1 Monday … 7 Sunday'),
  time: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected HH:MM, 24-hour' })
    .describe('Local time HH:MM'),
});

const slotView = (s: { id: string; weekday: number; localTime: string; timeZone: string }) => ({
  id: s.id,
  weekday: s.weekday,
  time: s.localTime,
  timeZone: s.timeZone,
});

const SeriesTarget = z.strictObject({
  socialAccountId: Uuid,
  content: z.string().max(100_000).optional(),
  threadParts: z.array(z.string().max(100_000)).max(50).optional(),
  media: z
    .array(z.strictObject({ mediaId: Uuid, altText: z.string().max(1500).optional() }))
    .max(20)
    .optional(),
  options: FreeJsonObject.optional(),
});

const SeriesFields = {
  rrule: z
    .string()
    .min(5)
    .max(500)
    .describe('RFC 5545 RRULE without DTSTART (an `RRULE:` prefix is accepted): `FREQ=WEEKLY;BYDAY=MO;COUNT=10`'),
  start: z.string().max(16).describe('First occurrence, wall-clock `YYYY-MM-DDTHH:MM` in `timeZone`'),
  timeZone: TimeZone.optional().describe('IANA zone the rule is read in (default: yours)'),
  content: z.string().max(100_000),
  targets: z.array(SeriesTarget).min(1).max(50),
};

const strip = <T extends Record<string, unknown>>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };

export const scheduleRoutes: FastifyPluginAsyncZod<{ scheduling: SchedulingDeps }> = async (
  app,
  { scheduling: deps },
) => {
  // CSV is sent as it is (`content-type: text/csv`); only this plugin's routes read it.
  app.addContentTypeParser(
    ['text/csv', 'application/csv'],
    { parseAs: 'buffer', bodyLimit: CSV_MAX_BYTES },
    (_req, body, done) => done(null, body),
  );

  app.get(
    '/social-accounts/:id/slots',
    {
      schema: {
        tags: ['slots'],
        summary: "An account's weekly posting slots, in their time zone",
        params: IdParams,
      },
    },
    async (req) => ({ items: (await listSlots(deps, ctxOf(req), req.params.id)).map(slotView) }),
  );

  app.put(
    '/social-accounts/:id/slots',
    {
      schema: {
        tags: ['slots'],
        summary: "Replace an account's weekly posting slots (editor); an empty list removes them",
        params: IdParams,
        body: z.strictObject({
          timeZone: TimeZone.optional().describe('IANA zone the times are read in (default: yours)'),
          slots: z.array(Slot).max(MAX_SLOTS_PER_ACCOUNT),
        }),
      },
    },
    async (req) => {
      const ctx = ctxOf(req);
      const rows = await setSlots(deps, ctx, req.params.id, req.body.slots, req.body.timeZone ?? ctx.timeZone);
      return { items: rows.map(slotView) };
    },
  );

  app.post(
    '/posts/:id/queue',
    {
      schema: {
        tags: ['slots', 'posts'],
        summary:
          "Queue a draft: each draft target takes its account's next free slot (editor; waits for approval where required)",
        params: IdParams,
      },
    },
    (req) => queuePostDraft(deps, ctxOf(req), req.params.id),
  );

  app.post(
    '/series',
    {
      schema: {
        tags: ['series'],
        summary:
          'Create a recurring post from an RFC 5545 rule; the next 14 days of occurrences are scheduled (editor)',
        body: z.strictObject(SeriesFields),
      },
    },
    async (req, reply) => {
      const ctx = ctxOf(req);
      const { series, created } = await createSeries(deps, ctx, strip(req.body));
      return reply.status(201).send({ ...(await getSeries(deps, ctx, series.id)), created });
    },
  );

  app.get(
    '/series',
    { schema: { tags: ['series'], summary: 'Recurring series with their status and next occurrences' } },
    async (req) => ({ items: await listSeries(deps, ctxOf(req)) }),
  );

  app.get('/series/:id', { schema: { tags: ['series'], summary: 'One recurring series', params: IdParams } }, (req) =>
    getSeries(deps, ctxOf(req), req.params.id),
  );

  app.patch(
    '/series/:id',
    {
      schema: {
        tags: ['series'],
        summary:
          'Edit the next occurrences: text, accounts, rule, start or zone; waiting occurrences are replaced (editor)',
        params: IdParams,
        body: z
          .strictObject({
            rrule: SeriesFields.rrule.optional(),
            start: SeriesFields.start.optional(),
            timeZone: SeriesFields.timeZone,
            content: SeriesFields.content.optional(),
            targets: SeriesFields.targets.optional(),
          })
          .refine((b) => Object.values(b).some((v) => v !== undefined), { error: 'Give at least one field to change' }),
      },
    },
    async (req) => {
      const { series, replaced, created } = await updateSeries(deps, ctxOf(req), req.params.id, strip(req.body));
      return { ...series, replaced, created };
    },
  );

  for (const [verb, run, summary] of [
    ['pause', pauseSeries, 'Pause a series: its waiting occurrences are removed until it resumes (editor)'],
    ['resume', resumeSeries, 'Resume a paused series from now on; missed occurrences are not made up (editor)'],
    ['stop', stopSeries, 'Stop a series for good; occurrences already scheduled stay (editor)'],
  ] as const) {
    app.post(`/series/:id/${verb}`, { schema: { tags: ['series'], summary, params: IdParams } }, async (req) => {
      const { series, ...counts } = await run(deps, ctxOf(req), req.params.id);
      return { ...series, ...counts };
    });
  }

  app.post(
    '/imports/csv',
    {
      bodyLimit: CSV_MAX_BYTES,
      schema: {
        tags: ['imports'],
        summary:
          'Import posts from a CSV file sent as `text/csv`; `dryRun=true` checks every row and imports nothing. Rows imported before are reported as duplicates, not imported again (editor; dry run: viewer)',
        consumes: ['text/csv'],
        querystring: z.strictObject({ dryRun: z.enum(['true', 'false']).optional() }),
      },
    },
    async (req) => {
      if (!Buffer.isBuffer(req.body))
        throw new HeraldError('unsupported_media_type', {
          message: 'Send the CSV file as the body, with content-type text/csv',
        });
      return importCsv(deps, ctxOf(req), req.body, { dryRun: req.query.dryRun === 'true' });
    },
  );
};
