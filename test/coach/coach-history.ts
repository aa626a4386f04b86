/**
 * Planted histories for coach tests: daily follower snapshots of an account (growing, flat,
 * falling) and published posts with their measured engagement, written straight to the
 * tables analytics collection fills — so the coach reads exactly what analytics stores.
 */
import { DateTime } from 'luxon';
import { schema, type Database } from '../../core/index.js';
import type { ServiceContext } from '../../tools/scheduling/index.js';
import { addHistory, seeded, type HistoryPost } from '../tools/analytics-history.js';

export { addHistory, seeded };

export interface Ws {
  ctx: ServiceContext;
  accountId: string;
  platform: string;
}

/** One follower snapshot a day for the last `days` days (today included): `followers(daysAgo)`. */
export async function addFollowers(
  h: { database: Database },
  ws: Ws,
  now: Date,
  days: number,
  followers: (daysAgo: number) => number,
): Promise<void> {
  const rows = [];
  for (let d = days - 1; d >= 0; d--) {
    const at = DateTime.fromJSDate(now, { zone: ws.ctx.timeZone }).startOf('day').minus({ days: d }).plus({ hours: 1 });
    rows.push({
      workspaceId: ws.ctx.workspaceId,
      socialAccountId: ws.accountId,
      platform: ws.platform,
      day: at.toUTC().toFormat('yyyy-LL-dd'),
      status: 'ok' as const,
      followers: Math.round(followers(d)),
      following: 10,
      posts: 0,
      fetchedAt: at.toJSDate(),
    });
  }
  await h.database.db.insert(schema.accountSnapshots).values(rows);
}

/** `count` posts, one a day ending `quietDays` days ago, each with `likes(i)` (i = days ago). */
export function dailyPosts(now: Date, zone: string, count: number, likes: (daysAgo: number) => number, quietDays = 1) {
  const posts: HistoryPost[] = [];
  for (let i = 0; i < count; i++) {
    const daysAgo = quietDays + i;
    const at = DateTime.fromJSDate(now, { zone }).startOf('day').minus({ days: daysAgo }).set({ hour: 12 });
    posts.push({ publishedAt: at.toJSDate(), content: `post ${daysAgo} days ago`, likes: likes(daysAgo) });
  }
  return posts;
}
