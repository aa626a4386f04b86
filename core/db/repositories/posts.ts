/**
 * Posts and their targets (one row per platform account). Creating a post writes the post and
 * all its targets in one transaction; the composite foreign keys make a target that names
 * another workspace's account fail as `not_found`. Status moves are compare-and-set on the
 * current status, so two writers can never both move the same target.
 */
import { and, asc, eq, gte, inArray, lt, lte, sql, type SQL } from 'drizzle-orm';
import { perDatabase, type Db } from '../client.js';
import { media, postReviews, postTargets, posts, type TargetMedia } from '../schema.js';
import { HeraldError } from '../../errors.js';
import { mapConstraintErrors } from '../pg-errors.js';

export type Post = typeof posts.$inferSelect;
export type PostTarget = typeof postTargets.$inferSelect;
export type TargetStatus = PostTarget['status'];

export interface NewTarget {
  socialAccountId: string;
  platform: string;
  content: string;
  threadParts?: string[];
  media?: TargetMedia[];
  options?: Record<string, unknown>;
  status?: TargetStatus;
  scheduledAt?: Date | null;
}

/**
 * Holds a key-share lock on each media row the targets name, until the transaction ends, and
 * fails with `not_found` if one is gone. Deleting media takes the row's update lock before it
 * looks for targets that still use it, so the two cannot interleave: either the delete sees
 * the new target and refuses, or the target sees the media gone.
 */
async function lockTargetMedia(tx: Db, workspaceId: string, targets: Array<Pick<NewTarget, 'media'>>): Promise<void> {
  const ids = [...new Set(targets.flatMap((t) => (t.media ?? []).map((m) => m.mediaId)))];
  if (ids.length === 0) return;
  const rows = await tx
    .select({ id: media.id })
    .from(media)
    .where(and(eq(media.workspaceId, workspaceId), inArray(media.id, ids)))
    .for('key share');
  const found = new Set(rows.map((r) => r.id));
  const missing = ids.find((id) => !found.has(id));
  if (missing)
    throw new HeraldError('not_found', {
      message: `No media ${missing} in this workspace`,
      details: { mediaId: missing },
    });
}

export async function createPost(
  db: Db,
  workspaceId: string,
  input: {
    authorId?: string | null;
    content: string;
    tags?: string[];
    seriesId?: string | null;
    occurrenceAt?: Date | null;
    targets: NewTarget[];
  },
): Promise<{ post: Post; targets: PostTarget[] }> {
  return mapConstraintErrors(
    () =>
      db.transaction(async (tx) => {
        const [post] = await tx
          .insert(posts)
          .values({
            workspaceId,
            authorId: input.authorId ?? null,
            content: input.content,
            tags: input.tags ?? [],
            seriesId: input.seriesId ?? null,
            occurrenceAt: input.occurrenceAt ?? null,
          })
          .returning();
        await lockTargetMedia(tx, workspaceId, input.targets);
        const targets =
          input.targets.length === 0
            ? []
            : await tx
                .insert(postTargets)
                .values(input.targets.map((t) => ({ ...t, workspaceId, postId: post!.id })))
                .returning();
        return { post: post!, targets };
      }),
    'A post target',
  );
}

export async function getPost(
  db: Db,
  workspaceId: string,
  postId: string,
): Promise<{ post: Post; targets: PostTarget[] } | undefined> {
  const [post] = await db
    .select()
    .from(posts)
    .where(and(eq(posts.workspaceId, workspaceId), eq(posts.id, postId)));
  if (!post) return undefined;
  const targets = await db
    .select()
    .from(postTargets)
    .where(and(eq(postTargets.workspaceId, workspaceId), eq(postTargets.postId, postId)))
    .orderBy(asc(postTargets.createdAt), asc(postTargets.id));
  return { post, targets };
}

export async function getTarget(db: Db, workspaceId: string, targetId: string): Promise<PostTarget | undefined> {
  const [row] = await db
    .select()
    .from(postTargets)
    .where(and(eq(postTargets.workspaceId, workspaceId), eq(postTargets.id, targetId)));
  return row;
}

/** Prepared once per database: the calendar and the agent's "what's scheduled" run it often. */
const targetsInRangeQuery = perDatabase((db) => {
  // The statuses as a PostgreSQL array literal, or null for all of them.
  const statuses = sql`${sql.placeholder('statuses')}::target_status[]`;
  return db
    .select()
    .from(postTargets)
    .where(
      and(
        eq(postTargets.workspaceId, sql.placeholder('workspaceId')),
        gte(postTargets.scheduledAt, sql.placeholder('from')),
        lt(postTargets.scheduledAt, sql.placeholder('to')),
        sql`(${statuses} is null or ${postTargets.status} = any(${statuses}))`,
      ),
    )
    .orderBy(asc(postTargets.scheduledAt), asc(postTargets.id))
    .prepare('herald_targets_in_range');
});

/** Targets scheduled in [from, to), earliest first; only those in `statuses` when given. */
export function listTargetsInRange(
  db: Db,
  workspaceId: string,
  range: { from: Date; to: Date; statuses?: TargetStatus[] },
): Promise<PostTarget[]> {
  // Enum values (lowercase words): the literal needs no quoting.
  const statuses = range.statuses ? `{${range.statuses.join(',')}}` : null;
  return targetsInRangeQuery(db).execute({ workspaceId, from: range.from, to: range.to, statuses });
}

/**
 * Moves a target from one of `from` to `to`, applying `patch`, only if it is still in one of
 * `from`. Returns the updated row, or undefined when the target is missing or was moved by
 * someone else first.
 */
export async function transitionTarget(
  db: Db,
  workspaceId: string,
  targetId: string,
  from: TargetStatus[],
  to: TargetStatus,
  patch: Partial<Pick<PostTarget, 'publishedAt' | 'platformPostId' | 'platformUrl' | 'lastError' | 'scheduledAt'>> = {},
): Promise<PostTarget | undefined> {
  const [row] = await db
    .update(postTargets)
    .set({ ...patch, status: to, updatedAt: new Date(), version: sql`${postTargets.version} + 1` })
    .where(
      and(eq(postTargets.workspaceId, workspaceId), eq(postTargets.id, targetId), inArray(postTargets.status, from)),
    )
    .returning();
  return row;
}

export async function deletePost(db: Db, workspaceId: string, postId: string): Promise<boolean> {
  const rows = await db
    .delete(posts)
    .where(and(eq(posts.workspaceId, workspaceId), eq(posts.id, postId)))
    .returning({ id: posts.id });
  return rows.length > 0;
}

/**
 * The publishing worker's claim: moves the target `scheduled → publishing` if it is due
 * (within `earlyMs`), in one round trip. Undefined when the target is not scheduled or not due.
 */
export async function claimDueTarget(
  db: Db,
  workspaceId: string,
  targetId: string,
  earlyMs = 1_000,
): Promise<PostTarget | undefined> {
  const [row] = await db
    .update(postTargets)
    .set({ status: 'publishing', updatedAt: new Date(), version: sql`${postTargets.version} + 1` })
    .where(
      and(
        eq(postTargets.workspaceId, workspaceId),
        eq(postTargets.id, targetId),
        eq(postTargets.status, 'scheduled'),
        lte(postTargets.scheduledAt, new Date(Date.now() + earlyMs)),
      ),
    )
    .returning();
  return row;
}

/** Where the next page starts: the last row's exact `created_at` (text, microseconds) and id. */
export interface PostCursor {
  createdAt: string;
  id: string;
}

export async function updatePostFields(
  db: Db,
  workspaceId: string,
  postId: string,
  patch: { content?: string; tags?: string[] },
): Promise<Post | undefined> {
  const [row] = await db
    .update(posts)
    .set({ ...patch, updatedAt: new Date() })
    .where(and(eq(posts.workspaceId, workspaceId), eq(posts.id, postId)))
    .returning();
  return row;
}

/**
 * Replaces a target's variant (text, thread, media, options, time) if it is still in one of
 * `from` and, when `version` is given, still at that version. Undefined otherwise.
 */
export async function updateTargetVariant(
  db: Db,
  workspaceId: string,
  targetId: string,
  from: TargetStatus[],
  patch: Pick<NewTarget, 'content' | 'threadParts' | 'media' | 'options'> & {
    scheduledAt?: Date | null;
    status?: TargetStatus;
  },
  version?: number,
): Promise<PostTarget | undefined> {
  const update = async (tx: Db) => {
    await lockTargetMedia(tx, workspaceId, [patch]);
    const [row] = await tx
      .update(postTargets)
      .set({ ...patch, updatedAt: new Date(), version: sql`${postTargets.version} + 1` })
      .where(
        and(
          eq(postTargets.workspaceId, workspaceId),
          eq(postTargets.id, targetId),
          inArray(postTargets.status, from),
          version === undefined ? undefined : eq(postTargets.version, version),
        ),
      )
      .returning();
    return row;
  };
  return patch.media?.length ? db.transaction(update) : update(db);
}

export type PostReview = typeof postReviews.$inferSelect;

/**
 * Runs `fn` in a transaction holding the post's row lock, so review decisions (approve,
 * reject) on one post happen one after the other: the second sees what the first did. A
 * post not in the workspace runs nothing and throws `not_found`.
 */
export async function withPostLocked<T>(
  db: Db,
  workspaceId: string,
  postId: string,
  fn: (tx: Db) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ id: posts.id })
      .from(posts)
      .where(and(eq(posts.workspaceId, workspaceId), eq(posts.id, postId)))
      .for('update');
    if (!row) throw new HeraldError('not_found', { message: 'No such post in this workspace' });
    return fn(tx);
  });
}

export async function addReview(
  db: Db,
  workspaceId: string,
  input: { postId: string; actorId: string | null; decision: PostReview['decision']; comment?: string | null },
): Promise<PostReview> {
  const [row] = await db
    .insert(postReviews)
    .values({ ...input, comment: input.comment ?? null, workspaceId })
    .returning();
  return row!;
}

export function listReviews(db: Db, workspaceId: string, postId: string): Promise<PostReview[]> {
  return db
    .select()
    .from(postReviews)
    .where(and(eq(postReviews.workspaceId, workspaceId), eq(postReviews.postId, postId)))
    .orderBy(asc(postReviews.createdAt), asc(postReviews.id));
}

/**
 * One page of posts, newest first (keyset on `created_at, id`, so pages stay stable while posts
 * are added), built as JSON text by PostgreSQL in one query: posts with
 * a summary of each target (no variant text, media or options — `getPost` has those), times
 * as ISO instants plus `scheduledAtLocal` in `timeZone`. Nothing is mapped or re-serialised
 * in JavaScript, which is what makes the busiest list route cheap.
 */
export async function listPostsPageJson(
  db: Db,
  workspaceId: string,
  opts: { limit: number; after?: PostCursor; statuses?: TargetStatus[]; timeZone: string },
): Promise<{ items: string; next: PostCursor | null }> {
  const iso = (col: SQL) => sql`to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  // Luxon's rendering: `Z` for the UTC zone itself, otherwise the zone's offset as ±HH:MM.
  const utcZone = /^(utc|gmt)$/i.test(opts.timeZone);
  const local = (col: SQL) =>
    utcZone
      ? iso(col)
      : sql`to_char(${col} at time zone ${opts.timeZone}, 'YYYY-MM-DD"T"HH24:MI:SS.MS') || (
          select case when o < interval '0' then '-' || to_char(-o, 'HH24:MI') else '+' || to_char(o, 'HH24:MI') end
          from (select (${col} at time zone ${opts.timeZone}) - (${col} at time zone 'UTC') as o) off)`;
  const t = sql`t`;
  type Row = { items: string | null; n: number; last_at: string | null; last_id: string | null };
  // Both drivers (node-postgres, PGlite) answer raw queries with `{ rows }`.
  const result = (await db.execute(sql`
    with page as (
      select p.*, p.created_at::text as cursor_at,
             row_number() over (order by p.created_at desc, p.id desc) as rn
      from ${posts} p
      where p.workspace_id = ${workspaceId}
        ${opts.after ? sql`and (p.created_at, p.id) < (${opts.after.createdAt}::timestamptz, ${opts.after.id}::uuid)` : sql``}
        ${
          opts.statuses
            ? sql`and exists (select 1 from ${postTargets} s where s.workspace_id = ${workspaceId} and s.post_id = p.id and s.status in (${sql.join(
                opts.statuses.map((x) => sql`${x}`),
                sql`, `,
              )}))`
            : sql``
        }
      order by p.created_at desc, p.id desc
      limit ${opts.limit + 1}
    )
    select
      (select json_agg(json_build_object(
         'id', p.id, 'workspaceId', p.workspace_id, 'authorId', p.author_id, 'content', p.content,
         'tags', p.tags, 'seriesId', p.series_id,
         'occurrenceAt', ${iso(sql`p.occurrence_at`)},
         'createdAt', ${iso(sql`p.created_at`)}, 'updatedAt', ${iso(sql`p.updated_at`)},
         'targets', coalesce((
           select json_agg(json_build_object(
             'id', t.id, 'socialAccountId', t.social_account_id, 'platform', t.platform,
             'status', t.status, 'scheduledAt', ${iso(sql`${t}.scheduled_at`)},
             'scheduledAtLocal', ${local(sql`${t}.scheduled_at`)},
             'publishedAt', ${iso(sql`${t}.published_at`)}, 'platformPostId', t.platform_post_id,
             'platformUrl', t.platform_url, 'error', t.last_error->>'message', 'version', t.version
           ) order by t.created_at, t.id)
           from ${postTargets} t
           where t.workspace_id = ${workspaceId} and t.post_id = p.id
         ), '[]'::json)
       ) order by p.created_at desc, p.id desc)
       from page p where p.rn <= ${opts.limit})::text as items,
      (select count(*)::int from page) as n,
      (select cursor_at from page where rn = ${opts.limit}) as last_at,
      (select id::text from page where rn = ${opts.limit}) as last_id
  `)) as unknown as { rows: Row[] };
  const row = result.rows[0]!;
  return {
    items: row.items ?? '[]',
    next: row.n > opts.limit && row.last_at && row.last_id ? { createdAt: row.last_at, id: row.last_id } : null,
  };
}
