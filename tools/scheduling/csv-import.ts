/**
 * Bulk import from CSV. The file is read whole first: a file that is not CSV, lacks a
 * required column or is too large imports nothing (`csv_invalid`). Then each row is checked
 * on its own — account, time, platform rules, posting cap — and scheduled if valid; the
 * report lists every imported row and every rejected row with its reasons.
 *
 * Columns (header row required, any order, case-insensitive):
 * - `account` (required): a social account id, `@handle`, `handle`, or `platform:handle`;
 * - `text` (required): the post text;
 * - `scheduled_at` (required): `YYYY-MM-DD HH:MM` read in the row's zone, or ISO 8601 with offset;
 * - `time_zone` (optional): IANA zone for this row; defaults to the importer's;
 * - `thread` (optional): further thread parts separated by a line containing only `---`;
 * - `media_ids` (optional): media ids separated by spaces or `;`.
 */
import { parse } from 'csv-parse/sync';
import { HeraldError, listSocialAccounts, type SocialAccount } from '../../core/index.js';
import { nowOf, type SchedulingDeps, type ServiceContext } from './context.js';
import { createScheduled, PAST_GRACE_MS } from './service.js';
import { assertTimeZone, parseUserTime, showInZone } from './time.js';

export const CSV_MAX_BYTES = 2 * 1024 * 1024;
export const CSV_MAX_ROWS = 2_000;
const REQUIRED = ['account', 'text', 'scheduled_at'] as const;
const KNOWN = new Set([...REQUIRED, 'time_zone', 'thread', 'media_ids']);

export interface ImportReport {
  imported: Array<{ row: number; postId: string; targetId: string; scheduledAt: string }>;
  rejected: Array<{ row: number; reasons: string[] }>;
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
  return matches.length === 1 ? matches[0] : undefined;
}

export async function importCsv(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  file: Buffer | string,
): Promise<ImportReport> {
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

  const accounts = await listSocialAccounts(deps.db, ctx.workspaceId);
  const report: ImportReport = { imported: [], rejected: [] };
  const now = nowOf(deps);
  for (const [i, rec] of records.entries()) {
    const row = i + 2; // 1-based, after the header
    const reasons: string[] = [];
    const account = rec.account?.trim() ? findAccount(accounts, rec.account) : undefined;
    if (!rec.account?.trim()) reasons.push('account is empty');
    else if (!account) reasons.push(`no single connected account matches "${rec.account.trim()}"`);
    if (!rec.text?.trim()) reasons.push('text is empty');
    let zone = ctx.timeZone;
    let at: Date | undefined;
    try {
      if (rec.time_zone?.trim()) zone = assertTimeZone(rec.time_zone.trim());
      if (!rec.scheduled_at?.trim()) throw new HeraldError('invalid_time', { message: 'scheduled_at is empty' });
      at = parseUserTime(rec.scheduled_at, zone);
      if (at.getTime() < now.getTime() - PAST_GRACE_MS) {
        reasons.push(`${showInZone(at, zone)} is in the past`);
        at = undefined;
      }
    } catch (err) {
      reasons.push((err as Error).message);
    }
    if (reasons.length === 0 && account && at) {
      const when = at;
      try {
        const { postId, targets } = await createScheduled(
          deps,
          { ...ctx, timeZone: zone },
          {
            content: rec.text!,
            targets: [
              {
                socialAccountId: account.id,
                threadParts: rec.thread?.trim()
                  ? rec.thread
                      .split(/\r?\n---\r?\n/)
                      .map((p) => p.trim())
                      .filter(Boolean)
                  : [],
                media: (rec.media_ids ?? '')
                  .split(/[\s;]+/)
                  .filter(Boolean)
                  .map((mediaId) => ({ mediaId })),
              },
            ],
          },
          () => when,
          { action: 'post.import' },
        );
        report.imported.push({ row, postId, targetId: targets[0]!.id, scheduledAt: targets[0]!.scheduledAtLocal! });
        continue;
      } catch (err) {
        const details = (err as HeraldError).details as
          { targets?: Array<{ issues: Array<{ message: string }> }> } | undefined;
        if (details?.targets) reasons.push(...details.targets.flatMap((t) => t.issues.map((x) => x.message)));
        else reasons.push((err as Error).message);
      }
    }
    report.rejected.push({ row, reasons });
  }
  return report;
}
