/**
 * `suggest_hashtags`: hashtags for a draft on one platform, from two measured signals — the
 * terms rising in the workspace's niche now (higher when rising on that very platform) and
 * the hashtags of the workspace's own published posts that did better than its average
 * ("what works for you", from analytics' metric snapshots) — ranked, each with why, and cut
 * to what the platform's readers bear. Hashtags already in the draft are not suggested again.
 */
import { sql } from 'drizzle-orm';
import { HeraldError, requireRole, type Db } from '../../core/index.js';
import type { ServiceContext } from '../scheduling/context.js';
import { risingTopics } from './rising.js';

/** How many hashtags each platform's posts carry well (Threads takes one topic tag). */
export const HASHTAGS_PER_PLATFORM: Record<string, number> = {
  x: 2,
  bluesky: 3,
  mastodon: 5,
  linkedin: 3,
  instagram: 5,
  facebook: 2,
  threads: 1,
  tiktok: 4,
  youtube: 3,
  pinterest: 5,
};
/** Days of the workspace's own posts read for what works. */
export const OWN_HASHTAG_DAYS = 180;
/** A hashtag of the workspace's own needs this many measured posts to count. */
export const OWN_HASHTAG_MIN_POSTS = 2;

export interface HashtagSuggestion {
  tag: string;
  score: number;
  from: Array<'rising' | 'works_for_you'>;
  why: string;
}

export interface HashtagResult {
  platform: string | null;
  hashtags: HashtagSuggestion[];
  note: string;
}

const HASHTAG = /#([\p{L}\p{N}_]+)/gu;
const tagOk = (t: string) => /^[\p{L}][\p{L}\p{N}_]{1,49}$/u.test(t);

/** Per hashtag of the workspace's published posts: uses and engagement against the workspace's mean. */
async function ownHashtags(db: Db, workspaceId: string, platform: string | null, now: Date) {
  const since = new Date(now.getTime() - OWN_HASHTAG_DAYS * 86_400_000).toISOString();
  const result = (await db.execute(sql`
    select t.content, coalesce(l.likes,0) + coalesce(l.reposts,0) + coalesce(l.replies,0) + coalesce(l.quotes,0) as engagements
    from post_targets t
    join lateral (
      select s.likes, s.reposts, s.replies, s.quotes from metric_snapshots s
      where s.workspace_id = ${workspaceId} and s.target_id = t.id and s.status = 'ok'
      order by s.fetched_at desc limit 1
    ) l on true
    where t.workspace_id = ${workspaceId} and t.status = 'published' and t.published_at >= ${since}::timestamptz
      ${platform ? sql`and t.platform = ${platform}` : sql``}
    limit 5000`)) as { rows: Array<{ content: string; engagements: unknown }> };
  const rows = result.rows.map((r) => ({ content: String(r.content), engagements: Number(r.engagements) || 0 }));
  const mean = rows.length ? rows.reduce((s, r) => s + r.engagements, 0) / rows.length : 0;
  const byTag = new Map<string, { uses: number; total: number }>();
  for (const r of rows)
    for (const m of new Set([...r.content.matchAll(HASHTAG)].map((x) => x[1]!.toLowerCase()))) {
      const e = byTag.get(m) ?? { uses: 0, total: 0 };
      e.uses += 1;
      e.total += r.engagements;
      byTag.set(m, e);
    }
  return [...byTag]
    .filter(([, e]) => e.uses >= OWN_HASHTAG_MIN_POSTS && mean > 0)
    .map(([tag, e]) => ({ tag, uses: e.uses, lift: e.total / e.uses / mean }));
}

export async function suggestHashtags(
  deps: { db: Db; now?: (() => Date) | undefined },
  ctx: ServiceContext,
  input: { platform?: string | undefined; text?: string | undefined; limit?: number | undefined } = {},
): Promise<HashtagResult> {
  requireRole(ctx, 'viewer');
  const platform = input.platform?.toLowerCase() ?? null;
  if (platform && !(platform in HASHTAGS_PER_PLATFORM))
    throw new HeraldError('validation_failed', {
      message: `platform must be one of ${Object.keys(HASHTAGS_PER_PLATFORM).join(', ')}`,
    });
  const now = deps.now?.() ?? new Date();
  const limit = Math.min(input.limit ?? (platform ? HASHTAGS_PER_PLATFORM[platform]! : 5), 20);
  const present = new Set([...(input.text ?? '').matchAll(HASHTAG)].map((m) => m[1]!.toLowerCase()));
  const words = new Set((input.text ?? '').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  const [rising, own] = await Promise.all([
    risingTopics({ db: deps.db, now: () => now }, ctx, { limit: 50 }),
    ownHashtags(deps.db, ctx.workspaceId, platform, now),
  ]);
  const out = new Map<string, HashtagSuggestion>();
  for (const t of rising.topics) {
    const tag = t.term.replace(/[^\p{L}\p{N}_]/gu, '');
    if (!tagOk(tag) || present.has(tag)) continue;
    const onPlatform = platform !== null && t.sources.includes(platform);
    const inDraft = words.has(tag);
    const score = t.score * (onPlatform ? 1.5 : 1) * (inDraft ? 1.5 : 1);
    out.set(tag, {
      tag: `#${tag}`,
      score,
      from: ['rising'],
      why: `rising: ${t.mentions.current} new mentions (${t.mentions.previous} before) on ${t.sources.join(', ')}${inDraft ? '; your draft mentions it' : ''}`,
    });
  }
  for (const o of own) {
    if (o.lift <= 1 || present.has(o.tag) || !tagOk(o.tag)) continue;
    const why = `works for you: ${o.lift.toFixed(1)}× your average engagement over ${o.uses} posts`;
    const prev = out.get(o.tag);
    const add = 2 * Math.log2(o.lift) + Math.log2(o.uses);
    if (prev) {
      prev.score += add;
      prev.from.push('works_for_you');
      prev.why += `; ${why}`;
    } else out.set(o.tag, { tag: `#${o.tag}`, score: add, from: ['works_for_you'], why });
  }
  const hashtags = [...out.values()]
    .sort((a, b) => b.score - a.score || a.tag.localeCompare(b.tag))
    .slice(0, limit)
    .map((h) => ({ ...h, score: Math.round(h.score * 100) / 100 }));
  return {
    platform,
    hashtags,
    note: hashtags.length
      ? `${hashtags.length} hashtag(s)${platform ? ` for ${platform} (it carries about ${HASHTAGS_PER_PLATFORM[platform]} well)` : ''}, from what is rising in your niche and what worked in your own posts.`
      : 'Nothing rising in your niche and no hashtag of your own that did better than average yet.',
  };
}
