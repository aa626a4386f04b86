/**
 * What each platform reports to Herald, as data: every figure Herald shows says which
 * platforms it includes and, for the others, why a number is missing (the platform does not
 * count it, or Herald does not read it yet). Sources: Bluesky AppView post views
 * (docs.bsky.app, app.bsky.feed.getPosts: like/repost/reply/quote counts, no views);
 * Mastodon Status entity (docs.joinmastodon.org/entities/Status: favourites, reblogs,
 * replies; quotes from 4.5; no views); X public_metrics (docs.x.com: impression_count);
 * LinkedIn organizationalEntityShareStatistics / memberCreatorPostAnalytics (impressions);
 * Instagram and Threads media insights (views), Facebook post reactions/comments/shares.
 * Followers: Bluesky app.bsky.actor.getProfile (AppView), LinkedIn memberFollowersCount or
 * networkSizes (a page), the others' account or user objects.
 */

export interface PlatformReport {
  impressions: boolean;
  quotes: boolean;
  /** Herald stores daily follower counts for this platform. */
  followers: boolean;
  /** Why impressions are missing, when they are. */
  noImpressions?: string;
  noFollowers?: string;
}

export const PLATFORM_REPORTS: Record<string, PlatformReport> = {
  bluesky: {
    impressions: false,
    quotes: true,
    followers: true,
    noImpressions: 'Bluesky does not count views of a post',
  },
  mastodon: {
    impressions: false,
    quotes: true,
    followers: true,
    noImpressions: 'Mastodon does not count views of a post',
  },
  x: {
    impressions: true,
    quotes: true,
    followers: true,
  },
  linkedin: {
    impressions: true,
    quotes: false,
    // Followers: the member's (memberFollowersCount, r_member_profileAnalytics) or the page's (networkSizes).
    followers: true,
  },
  // Meta insights: IG Media `views` (likes, comments, shares), Threads media `views` and
  // `quotes`, IG User `followers_count`, Threads `threads_insights` followers_count.
  instagram: {
    impressions: true,
    quotes: false,
    followers: true,
  },
  threads: {
    impressions: true,
    quotes: true,
    followers: true,
  },
  // Pages: reactions, comments and shares from the post; views come only from Page insights, not read yet.
  facebook: {
    impressions: false,
    quotes: false,
    followers: true,
    noImpressions: 'Herald does not read Facebook post impressions (Page insights) yet',
  },
};

const UNKNOWN: PlatformReport = {
  impressions: false,
  quotes: false,
  followers: false,
  noImpressions: 'Herald does not read impressions from this platform',
  noFollowers: 'Herald does not read follower counts from this platform',
};

export const reportOf = (platform: string): PlatformReport => PLATFORM_REPORTS[platform] ?? UNKNOWN;

/** "Impressions: Bluesky does not count views of a post; ..." for the platforms given. */
export function notReported(platforms: string[]): Array<{ platform: string; metric: string; reason: string }> {
  const out: Array<{ platform: string; metric: string; reason: string }> = [];
  for (const p of [...new Set(platforms)].sort()) {
    const r = reportOf(p);
    if (!r.impressions) out.push({ platform: p, metric: 'impressions', reason: r.noImpressions! });
    if (!r.followers) out.push({ platform: p, metric: 'followers', reason: r.noFollowers! });
  }
  return out;
}
