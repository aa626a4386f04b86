/**
 * Posting slots, recurring series and CSV import for the agent: each tool is the schema the
 * model fills plus one call to `tools/scheduling`. Changing slots, creating, pausing,
 * resuming, stopping or editing a series and importing a CSV are side effects the user
 * confirms; the confirmation shows exactly what would change (for an import, the dry run's
 * count of rows ready, already imported and rejected).
 */
import { z } from 'zod';
import {
  createSeries,
  getSeries,
  importCsv,
  listSeries,
  listSlots,
  pauseSeries,
  resumeSeries,
  setSlots,
  showTime,
  stopSeries,
  updateSeries,
  type ImportReport,
  type Series,
  type SeriesView,
} from '../../tools/scheduling/index.js';
import { label, resolveAccounts } from './accounts.js';
import { Accounts, clip, ctxOf, Id, Text } from './common.js';
import { defineTool, type ToolEnv } from './types.js';

const Weekday = z.number().int().min(1).max(7).describe('ISO weekday: 1 Monday … 7 Sunday');
const Slot = z.object({
  weekday: Weekday,
  time: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/)
    .describe('HH:MM, 24-hour'),
});
const Zone = z.string().min(1).max(64).describe('IANA time zone, e.g. Europe/Paris (default: the user’s)');
const Rule = z
  .string()
  .min(5)
  .max(500)
  .describe('RFC 5545 RRULE without DTSTART, e.g. FREQ=WEEKLY;BYDAY=MO,WE or FREQ=MONTHLY;BYMONTHDAY=1;COUNT=6');
const Start = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/)
  .describe('First occurrence, wall-clock YYYY-MM-DDTHH:MM in the series’ zone');
/** Text pasted into the conversation; bigger files go through `POST /v1/imports/csv`. */
const CSV_TEXT_MAX = 200_000;
const Csv = z
  .string()
  .min(1)
  .max(CSV_TEXT_MAX)
  .describe('The CSV text: header account,text,scheduled_at[,time_zone,thread,media_ids]');

const DAYS = ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const slotText = (slots: Array<{ weekday: number; time: string }>) =>
  slots.length ? slots.map((s) => `${DAYS[s.weekday]} ${s.time}`).join(', ') : 'no slots';

const compactSeries = (s: SeriesView) => ({
  seriesId: s.id,
  status: s.status,
  rrule: s.rrule,
  start: s.startLocal,
  timeZone: s.timeZone,
  text: clip(s.content, 200),
  accounts: s.targets.map((t) => t.socialAccountId),
  next: s.next,
});

async function oneAccount(env: ToolEnv, ref: string) {
  const [account] = await resolveAccounts(env, [ref]);
  return account!;
}

async function describeSeries(env: ToolEnv, verb: string, seriesId: string, extra: Record<string, unknown> = {}) {
  const s = await getSeries(env.deps, ctxOf(env), seriesId);
  return {
    summary: `${verb} the ${s.status} series "${clip(s.content, 120)}" (${s.rrule}, ${s.timeZone})`,
    details: { seriesId: s.id, status: s.status, rrule: s.rrule, text: s.content, ...extra },
  };
}

const importSummary = (r: ImportReport) =>
  `${r.rows} row(s): ${r.ready.length + r.imported.length} to import, ${r.duplicates.length} already imported, ${r.rejected.length} rejected`;

const seriesArgs = async (env: ToolEnv, args: { text?: string | undefined; accounts?: string[] | undefined }) => ({
  ...(args.text ? { content: args.text } : {}),
  ...(args.accounts
    ? { targets: (await resolveAccounts(env, args.accounts)).map((a) => ({ socialAccountId: a.id })) }
    : {}),
});

const asView = (s: Series | SeriesView, env: ToolEnv) =>
  'status' in s ? compactSeries(s) : getSeries(env.deps, ctxOf(env), s.id).then(compactSeries);

export const scheduleTools = [
  defineTool({
    name: 'get_slots',
    description: "An account's weekly posting slots (what add_to_queue fills), in their time zone.",
    schema: z.object({ account: z.string().min(1).max(200) }),
    sideEffect: false,
    run: async (env, args) => {
      const account = await oneAccount(env, args.account);
      const slots = await listSlots(env.deps, ctxOf(env), account.id);
      return {
        socialAccountId: account.id,
        slots: slots.map((s) => ({ weekday: s.weekday, time: s.localTime, timeZone: s.timeZone })),
      };
    },
  }),
  defineTool({
    name: 'set_slots',
    description: "Replaces an account's weekly posting slots (an empty list removes them). The user confirms first.",
    schema: z.object({ account: z.string().min(1).max(200), slots: z.array(Slot).max(70), timeZone: Zone.optional() }),
    sideEffect: true,
    describe: async (env, args) => {
      const account = await oneAccount(env, args.account);
      const before = await listSlots(env.deps, ctxOf(env), account.id);
      const zone = args.timeZone ?? env.session.timeZone;
      return {
        summary: `Set ${label(account)}'s posting slots to ${slotText(args.slots)} (${zone}); now ${slotText(before.map((s) => ({ weekday: s.weekday, time: s.localTime })))}`,
        details: { tool: 'set_slots', socialAccountId: account.id, slots: args.slots, timeZone: zone },
      };
    },
    run: async (env, args) => {
      const account = await oneAccount(env, args.account);
      const rows = await setSlots(env.deps, ctxOf(env), account.id, args.slots, args.timeZone ?? env.session.timeZone);
      return {
        socialAccountId: account.id,
        slots: rows.map((s) => ({ weekday: s.weekday, time: s.localTime, timeZone: s.timeZone })),
      };
    },
  }),
  defineTool({
    name: 'list_series',
    description: 'Recurring series of this workspace: rule, status (active, paused, stopped) and next occurrences.',
    schema: z.object({}),
    sideEffect: false,
    untrustedOutput: true,
    run: async (env) => (await listSeries(env.deps, ctxOf(env))).map(compactSeries),
  }),
  defineTool({
    name: 'create_series',
    description:
      'Creates a recurring post from an RFC 5545 rule: the next two weeks of occurrences are scheduled at once, later ones as time goes on. The user confirms first.',
    schema: z.object({ text: Text, accounts: Accounts, rrule: Rule, start: Start, timeZone: Zone.optional() }),
    sideEffect: true,
    describe: async (env, args) => {
      const accounts = await resolveAccounts(env, args.accounts);
      const zone = args.timeZone ?? env.session.timeZone;
      return {
        summary: `Repeat "${clip(args.text, 160)}" on ${accounts.map(label).join(', ')} by ${args.rrule} from ${args.start} (${zone})`,
        details: {
          tool: 'create_series',
          rrule: args.rrule,
          start: args.start,
          timeZone: zone,
          text: args.text,
          accounts: accounts.map((a) => a.id),
        },
      };
    },
    applyEdit: (args, edit) => ({ ...args, ...(edit.text ? { text: edit.text } : {}) }),
    run: async (env, args, journal) => {
      // A replay after a crash finds the series the first attempt made.
      const made = journal.progress.seriesId;
      if (typeof made === 'string') return compactSeries(await getSeries(env.deps, ctxOf(env), made));
      const { series, created } = await createSeries(env.deps, ctxOf(env), {
        rrule: args.rrule,
        start: args.start,
        timeZone: args.timeZone,
        content: args.text,
        targets: (await resolveAccounts(env, args.accounts)).map((a) => ({ socialAccountId: a.id })),
      });
      await journal.note({ seriesId: series.id });
      return { ...(await asView(series, env)), created };
    },
  }),
  defineTool({
    name: 'pause_series',
    description:
      'Pauses a recurring series: its waiting occurrences are removed until it resumes. The user confirms first.',
    schema: z.object({ seriesId: Id }),
    sideEffect: true,
    describe: (env, args) => describeSeries(env, 'Pause', args.seriesId, { tool: 'pause_series' }),
    run: async (env, args) => {
      const { series, removed } = await pauseSeries(env.deps, ctxOf(env), args.seriesId);
      return { ...compactSeries(series), removed };
    },
  }),
  defineTool({
    name: 'resume_series',
    description: 'Resumes a paused series from now on (missed occurrences are not made up). The user confirms first.',
    schema: z.object({ seriesId: Id }),
    sideEffect: true,
    describe: (env, args) => describeSeries(env, 'Resume', args.seriesId, { tool: 'resume_series' }),
    run: async (env, args) => {
      const { series, created } = await resumeSeries(env.deps, ctxOf(env), args.seriesId);
      return { ...compactSeries(series), created };
    },
  }),
  defineTool({
    name: 'stop_series',
    description:
      'Stops a recurring series for good; occurrences already scheduled stay (cancel them one by one). The user confirms first.',
    schema: z.object({ seriesId: Id }),
    sideEffect: true,
    describe: (env, args) => describeSeries(env, 'Stop', args.seriesId, { tool: 'stop_series' }),
    run: async (env, args) => compactSeries((await stopSeries(env.deps, ctxOf(env), args.seriesId)).series),
  }),
  defineTool({
    name: 'edit_series',
    description:
      "Changes a series' next occurrences: text, accounts, rule, start or zone (waiting occurrences are replaced; ones already out stay). The user confirms first.",
    schema: z.object({
      seriesId: Id,
      text: Text.optional(),
      accounts: Accounts.optional(),
      rrule: Rule.optional(),
      start: Start.optional(),
      timeZone: Zone.optional(),
    }),
    sideEffect: true,
    describe: async (env, args) => {
      const change = Object.fromEntries(
        Object.entries({
          text: args.text,
          accounts: args.accounts,
          rrule: args.rrule,
          start: args.start,
          timeZone: args.timeZone,
        }).filter(([, v]) => v !== undefined),
      );
      const action = await describeSeries(env, 'Edit', args.seriesId, { tool: 'edit_series', change });
      action.summary += `: ${Object.entries(change)
        .map(([k, v]) => `${k} → ${typeof v === 'string' ? `"${clip(v, 120)}"` : JSON.stringify(v)}`)
        .join(', ')}`;
      return action;
    },
    applyEdit: (args, edit) => ({ ...args, ...(edit.text ? { text: edit.text } : {}) }),
    run: async (env, args) => {
      const { series, replaced, created } = await updateSeries(env.deps, ctxOf(env), args.seriesId, {
        ...(await seriesArgs(env, args)),
        ...(args.rrule ? { rrule: args.rrule } : {}),
        ...(args.start ? { start: args.start } : {}),
        ...(args.timeZone ? { timeZone: args.timeZone } : {}),
      });
      return { ...compactSeries(series), replaced, created };
    },
  }),
  defineTool({
    name: 'check_csv',
    description:
      'Dry run of a CSV import: every row that would be imported, already imported, or has problems (with row and column). Imports nothing.',
    schema: z.object({ csv: Csv }),
    sideEffect: false,
    run: (env, args) => importCsv(env.deps, ctxOf(env), args.csv, { dryRun: true }),
  }),
  defineTool({
    name: 'import_csv',
    description:
      'Imports posts from CSV text (run check_csv first); rows already imported are skipped, rows with problems are reported. The user confirms first.',
    schema: z.object({ csv: Csv }),
    sideEffect: true,
    describe: async (env, args) => {
      const dry = await importCsv(env.deps, ctxOf(env), args.csv, { dryRun: true });
      const first = dry.ready[0];
      return {
        summary: `Import posts from CSV: ${importSummary(dry)}${first ? `; first at ${showTime(new Date(first.scheduledAt), env.session.timeZone)}` : ''}`,
        details: { tool: 'import_csv', ready: dry.ready, duplicates: dry.duplicates.length, rejected: dry.rejected },
      };
    },
    // Idempotent per row: a replay after a crash reports the rows the first attempt imported as duplicates.
    run: (env, args) => importCsv(env.deps, ctxOf(env), args.csv),
  }),
];
