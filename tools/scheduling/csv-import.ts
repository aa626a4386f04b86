/**
 * Bulk import from CSV. The file is read whole first: a file that is not CSV, lacks a
 * required column or is too large imports nothing (`csv_invalid`). Then each row is checked
 * on its own — account, time, platform rules, posting cap — and, unless this is a dry run,
 * scheduled if valid. The report lists every row: imported (or ready, in a dry run), already
 * imported, or rejected with each problem and the column it is in.
 *
 * Importing is idempotent per row: a row whose account already has a post with the same text
 * at the same instant (not cancelled) is reported as `duplicates` and not imported again, so
 * sending the same file twice — or a file with a few rows added — creates each post once. The
 * check and the insert run under a per-workspace import lock, so two imports of the same file
 * at once do not both insert.
 *
 * Columns (header row required, any order, case-insensitive):
 * - `account` (required): a social account id, `@handle`, `handle`, `platform:handle`, or the
 *   platform's name when the workspace has one account there;
 * - `text` (required): the post text;
 * - `scheduled_at` (required): `YYYY-MM-DD HH:MM` read in the row's zone, or ISO 8601 with offset;
 * - `time_zone` (optional): IANA zone for this row; defaults to the importer's;
 * - `thread` (optional): further thread parts separated by a line containing only `---`;
 * - `media_ids` (optional): media ids separated by spaces or `;`.
 */
import { and, eq, ne, sql } from 'drizzle-orm';
import { parse } from 'csv-parse/sync';
import {
  HeraldError,
  isHeraldError,
  listSocialAccounts,
  requireRole,
  schema,
  type Db,
  type SocialAccount,
} from '../../core/index.js';
import { nowOf, type SchedulingDeps, type ServiceContext } from './context.js';
import { announceScheduled, insertScheduled, PAST_GRACE_MS, requireDirectScheduling } from './service.js';
import { assertTimeZone, parseUserTime, showInZone } from './time.js';
import { checkTargets } from './validation.js';

export const CSV_MAX_BYTES = 2 * 1024 * 1024;
export const CSV_MAX_ROWS = 2_000;
const REQUIRED = ['account', 'text', 'scheduled_at'] as const;
const KNOWN = new Set([...REQUIRED, 'time_zone', 'thread', 'media_ids']);

export type CsvColumn = 'account' | 'text' | 'scheduled_at' | 'time_zone' | 'thread' | 'media_ids';

export interface RowProblem {
  /** The column the problem is in; null when it is the row as a whole. */
  column: CsvColumn | null;
  message: string;
}

export interface ImportReport {
  dryRun: boolean;
  /** Data rows in the file (the header not counted). */
  rows: number;
  /** Rows scheduled by this import (in a dry run: none). */
  imported: Array<{ row: number; postId: string; targetId: string; scheduledAt: string }>;
  /** Dry run only: rows that would be imported. */
  ready: Array<{ row: number; socialAccountId: string; scheduledAt: string }>;
  /** Rows an earlier import already scheduled: not imported again. */
  duplicates: Array<{ row: number; postId: string; targetId: string; scheduledAt: string }>;
  /** Rows with problems, each problem with its column. Row numbers count the header as row 1. */
  rejected: Array<{ row: number; problems: RowProblem[] }>;
}

function findAccount(accounts: SocialAccount[], ref: string): SocialAccount | undefined {
  const value = ref.trim();
  const byId = accounts.find((a) => a.id === value);
  if (byId) return byId;
  const [platform, handle] = value.includes(':') ? (value.split(/:(.*)/s, 2) as [string, string]) : [undefined, value];
  const h = handle.replace(/^@/, '').toLowerCase();
  const matches = accounts.filter(
    (a) => a.handle.toLowerCase() === h && (!platform || a.platform === platform.toLowerCase()),
  );
  if (matches.length === 1) return matches[0];
  // A platform name alone, when the workspace has exactly one account there.
  const onPlatform = platform ? [] : accounts.filter((a) => a.platform === h && a.status !== 'disconnected');
  return matches.length === 0 && onPlatform.length === 1 ? onPlatform[0] : undefined;
}

/** The column a platform's or the scheduler's objection is about. */
function columnOf(err: unknown): RowProblem[] {
  if (!isHeraldError(err)) return [{ column: null, message: (err as Error).message }];
  const details = err.details as
    | { targets?: Array<{ issues: Array<{ code: string; message: string; part?: number }> }>; mediaId?: string }
    | undefined;
  if (err.code === 'target_invalid' && details?.targets)
    return details.targets.flatMap((t) =>
      t.issues.map((i) => ({
        column: /media|alt_text/.test(i.code)
          ? ('media_ids' as const)
          : i.part
            ? ('thread' as const)
            : ('text' as const),
        message: i.message,
      })),
    );
  if (err.code === 'quota_exceeded' || err.code === 'invalid_time')
    return [{ column: 'scheduled_at', message: err.message }];
  if (err.code === 'account_unavailable') return [{ column: 'account', message: err.message }];
  if (err.code === 'not_found' && /media/i.test(err.message)) return [{ column: 'media_ids', message: err.message }];
  return [{ column: null, message: err.message }];
}

/** The target an earlier import (or anyone) made for this row: same account, text and instant, not cancelled. */
async function existingTarget(db: Db, workspaceId: string, socialAccountId: string, content: string, at: Date) {
  const t = schema.postTargets;
  const [row] = await db
    .select({ targetId: t.id, postId: t.postId })
    .from(t)
    .where(
      and(
        eq(t.workspaceId, workspaceId),
        eq(t.socialAccountId, socialAccountId),
        eq(t.scheduledAt, at),
        eq(t.content, content),
        ne(t.status, 'cancelled'),
      ),
    )
    .limit(1);
  return row;
}

/** Reads and checks the file as a whole; `csv_invalid` when it cannot be used at all. */
function readRecords(file: Buffer | string): Record<string, string>[] {
  const bytes = typeof file === 'string' ? Buffer.from(file, 'utf8') : file;
  if (bytes.length === 0) throw new HeraldError('csv_invalid', { message: 'The file is empty' });
  if (bytes.length > CSV_MAX_BYTES)
    throw new HeraldError('csv_invalid', { message: `The file is larger than ${CSV_MAX_BYTES / 1024 / 1024} MB` });
  if (bytes.includes(0)) throw new HeraldError('csv_invalid', { message: 'The file is binary, not CSV text' });

  let records: Record<string, string>[];
  try {
    records = parse(bytes, {
      columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
      bom: true,
      skip_empty_lines: true,
      trim: false,
      relax_column_count: false,
    }) as Record<string, string>[];
  } catch (err) {
    throw new HeraldError('csv_invalid', { message: `The file is not valid CSV: ${(err as Error).message}` });
  }
  if (records.length === 0) throw new HeraldError('csv_invalid', { message: 'The file has a header but no rows' });
  if (records.length > CSV_MAX_ROWS)
    throw new HeraldError('csv_invalid', {
      message: `The file has ${records.length} rows; the limit is ${CSV_MAX_ROWS}`,
    });
  const columns = Object.keys(records[0]!);
  const missing = REQUIRED.filter((c) => !columns.includes(c));
  if (missing.length > 0) {
    throw new HeraldError('csv_invalid', {
      message: `Missing column${missing.length > 1 ? 's' : ''}: ${missing.join(', ')} (found: ${columns.join(', ')})`,
      details: { missing, found: columns },
    });
  }
  const unknown = columns.filter((c) => !KNOWN.has(c));
  if (unknown.length > 0) {
    throw new HeraldError('csv_invalid', {
      message: `Unknown column${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`,
      details: { unknown },
    });
  }
  return records;
}

const threadOf = (rec: Record<string, string>) =>
  rec.thread?.trim()
    ? rec.thread
        .split(/\r?\n---\r?\n/)
        .map((p) => p.trim())
        .filter(Boolean)
    : [];

const mediaOf = (rec: Record<string, string>) =>
  (rec.media_ids ?? '')
    .split(/[\s;]+/)
    .filter(Boolean)
    .map((mediaId) => ({ mediaId }));

/**
 * Imports the file's rows (or, with `dryRun`, only checks them) and reports on every row.
 * A dry run needs only the viewer role; importing needs what scheduling does.
 */
export async function importCsv(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  file: Buffer | string,
  opts: { dryRun?: boolean } = {},
): Promise<ImportReport> {
  const dryRun = opts.dryRun === true;
  if (dryRun) requireRole(ctx, 'viewer');
  else await requireDirectScheduling(deps, ctx);
  const records = readRecords(file);

  const accounts = await listSocialAccounts(deps.db, ctx.workspaceId);
  const report: ImportReport = { dryRun, rows: records.length, imported: [], ready: [], duplicates: [], rejected: [] };
  const now = nowOf(deps);
  for (const [i, rec] of records.entries()) {
    const row = i + 2; // 1-based, after the header
    const problems: RowProblem[] = [];
    const account = rec.account?.trim() ? findAccount(accounts, rec.account) : undefined;
    if (!rec.account?.trim()) problems.push({ column: 'account', message: 'account is empty' });
    else if (!account)
      problems.push({ column: 'account', message: `no single connected account matches "${rec.account.trim()}"` });
    if (!rec.text?.trim()) problems.push({ column: 'text', message: 'text is empty' });
    let zone = ctx.timeZone;
    let at: Date | undefined;
    try {
      if (rec.time_zone?.trim()) zone = assertTimeZone(rec.time_zone.trim());
    } catch (err) {
      problems.push({ column: 'time_zone', message: (err as Error).message });
    }
    try {
      if (!rec.scheduled_at?.trim()) throw new HeraldError('invalid_time', { message: 'scheduled_at is empty' });
      at = parseUserTime(rec.scheduled_at, zone);
      if (at.getTime() < now.getTime() - PAST_GRACE_MS) {
        problems.push({ column: 'scheduled_at', message: `${showInZone(at, zone)} is in the past` });
        at = undefined;
      }
    } catch (err) {
      problems.push({ column: 'scheduled_at', message: (err as Error).message });
    }
    if (problems.length > 0 || !account || !at) {
      report.rejected.push({ row, problems });
      continue;
    }
    const when = at;
    const target = { socialAccountId: account.id, content: rec.text!, threadParts: threadOf(rec), media: mediaOf(rec) };
    const rowCtx = { ...ctx, timeZone: zone };
    try {
      if (dryRun) {
        const seen = await existingTarget(deps.db, ctx.workspaceId, account.id, target.content, when);
        if (seen) report.duplicates.push({ row, ...seen, scheduledAt: showInZone(when, zone) });
        else {
          await checkTargets(deps.db, deps.connectors, ctx.workspaceId, [{ ...target, options: {}, at: when }]);
          report.ready.push({ row, socialAccountId: account.id, scheduledAt: showInZone(when, zone) });
        }
        continue;
      }
      const outcome = await deps.db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`herald:import:${ctx.workspaceId}`}, 0))`);
        const seen = await existingTarget(tx, ctx.workspaceId, account.id, target.content, when);
        if (seen) return { duplicate: seen };
        return {
          created: await insertScheduled(deps, tx, rowCtx, { content: target.content, targets: [target] }, () => when),
        };
      });
      if (outcome.duplicate) {
        report.duplicates.push({ row, ...outcome.duplicate, scheduledAt: showInZone(when, zone) });
        continue;
      }
      const { postId, targets } = await announceScheduled(deps, rowCtx, outcome.created!, 'post.import');
      report.imported.push({ row, postId, targetId: targets[0]!.id, scheduledAt: targets[0]!.scheduledAtLocal! });
    } catch (err) {
      report.rejected.push({ row, problems: columnOf(err) });
    }
  }
  return report;
}
