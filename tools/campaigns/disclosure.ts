/**
 * Affiliate disclosure, checked at schedule time for every target (a `tools/scheduling`
 * target check): a post part carrying an affiliate link — one of the workspace's tracked
 * links made for a campaign or product, or a product's affiliate URL — must carry one of the
 * workspace's disclosures ("#ad", "affiliate link"), placed where the platform's rule says
 * and with the platform's branded-content flag set where it has one. A target that breaks
 * its rule is refused with `disclosure_missing`, naming the rule.
 */
import { and, eq, inArray, isNotNull, or } from 'drizzle-orm';
import { HeraldError, schema, type Db } from '../../core/index.js';
import { addTargetCheck, type TargetCheck } from '../scheduling/index.js';
import { settingsOf } from './context.js';

export interface DisclosureRule {
  /** Stable id, reported with the refusal. */
  id: string;
  /** The disclosure must start within this many characters of the part (the platform's fold). */
  within: number | null;
  /** A platform option that must be set on affiliate posts (its branded-content flag). */
  flag?: { option: string; value: unknown };
  /** What the rule is and where it comes from. */
  text: string;
}

const FTC =
  "the FTC's Endorsement Guides (16 CFR 255.5): a material connection is disclosed clearly, next to the claim";

/** Per platform; platforms without an entry follow `DEFAULT_RULE`. */
export const DISCLOSURE_RULES: Readonly<Record<string, DisclosureRule>> = {
  x: {
    id: 'x.disclosure_in_post',
    within: null,
    text: `X's paid partnership policy and ${FTC}: the disclosure is in the same post as the link (X offers no API flag for it)`,
  },
  bluesky: {
    id: 'bluesky.disclosure_in_post',
    within: null,
    text: `${FTC}: the disclosure is in the same post as the link`,
  },
  mastodon: {
    id: 'mastodon.disclosure_in_text',
    within: null,
    text: `${FTC}: the disclosure is in the post's text with the link, not only in a content warning`,
  },
  linkedin: {
    id: 'linkedin.disclosure_above_fold',
    within: 140,
    text: `LinkedIn's Professional Community Policies and ${FTC}: the disclosure starts within the first 140 characters, above the "see more" fold`,
  },
  instagram: {
    id: 'instagram.disclosure_above_fold',
    within: 125,
    text: `${FTC}: the disclosure starts within the first 125 characters of the caption, before it is cut off`,
  },
  tiktok: {
    id: 'tiktok.branded_content',
    within: null,
    flag: { option: 'brand_content_toggle', value: true },
    text: `TikTok's Branded Content Policy: the post sets brand_content_toggle and its text carries the disclosure`,
  },
};

export const DEFAULT_RULE: DisclosureRule = {
  id: 'disclosure_in_post',
  within: null,
  text: `${FTC}: the disclosure is in the same post as the link`,
};

export const ruleFor = (platform: string) => DISCLOSURE_RULES[platform] ?? DEFAULT_RULE;

const URLS = /https?:\/\/[^\s<>"')\]]+/gi;
const SHORT_PATH = /^\/l\/([0-9A-Za-z]{4,32})\/?$/;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Where a disclosure first appears in `text` (case-insensitive, whole words), or -1. */
export function disclosureIndex(text: string, disclosures: string[]): number {
  let best = -1;
  for (const d of disclosures) {
    const t = d.trim();
    if (!t) continue;
    const m = new RegExp(`(^|[^\\p{L}\\p{N}_#])${escape(t)}(?![\\p{L}\\p{N}_])`, 'iu').exec(text);
    if (m) {
      const at = m.index + m[1]!.length;
      if (best < 0 || at < best) best = at;
    }
  }
  return best;
}

/** The indexes of the parts carrying an affiliate link, read from the workspace's own records. */
export async function affiliateParts(db: Db, workspaceId: string, parts: string[]): Promise<number[]> {
  const found = parts.map((p) => [...p.matchAll(URLS)].map((m) => m[0].replace(/[.,;:!?]+$/, '')));
  const all = found.flat();
  if (all.length === 0) return [];
  const codes = all.map((u) => SHORT_PATH.exec(safePath(u))?.[1]).filter((c): c is string => !!c);
  const tracked = codes.length
    ? new Set(
        (
          await db
            .select({ code: schema.trackedLinks.code })
            .from(schema.trackedLinks)
            .where(
              and(
                eq(schema.trackedLinks.workspaceId, workspaceId),
                inArray(schema.trackedLinks.code, codes),
                or(isNotNull(schema.trackedLinks.campaignId), isNotNull(schema.trackedLinks.productId)),
              ),
            )
        ).map((r) => r.code),
      )
    : new Set<string>();
  const affiliateUrls = (
    await db
      .select({ url: schema.productAffiliateLinks.url })
      .from(schema.productAffiliateLinks)
      .where(eq(schema.productAffiliateLinks.workspaceId, workspaceId))
  ).map((r) => r.url);
  const isAffiliate = (u: string) => {
    const code = SHORT_PATH.exec(safePath(u))?.[1];
    return (code !== undefined && tracked.has(code)) || affiliateUrls.some((a) => u.startsWith(a));
  };
  return found.flatMap((urls, i) => (urls.some(isAffiliate) ? [i] : []));
}

function safePath(u: string): string {
  try {
    return new URL(u).pathname;
  } catch {
    return '';
  }
}

/** The schedule-time check: throws `disclosure_missing` with the rule a target breaks. */
export const disclosureCheck: TargetCheck = async (db, workspaceId, target) => {
  const parts = [target.content, ...target.threadParts];
  const carrying = await affiliateParts(db, workspaceId, parts);
  if (carrying.length === 0) return;
  const { disclosures } = await settingsOf(db, workspaceId);
  const platform = target.account.platform;
  const rule = ruleFor(platform);
  const refuse = (part: number, problem: string) =>
    new HeraldError('disclosure_missing', {
      message: `@${target.account.handle} (${platform}): ${problem}. Rule ${rule.id}: ${rule.text}`,
      details: { rule: rule.id, platform, socialAccountId: target.account.id, part, disclosures, within: rule.within },
    });
  if (rule.flag && target.options[rule.flag.option] !== rule.flag.value)
    throw refuse(
      carrying[0]!,
      `an affiliate post needs the option ${rule.flag.option} = ${JSON.stringify(rule.flag.value)}`,
    );
  for (const part of carrying) {
    const at = disclosureIndex(parts[part]!, disclosures);
    if (at < 0)
      throw refuse(
        part,
        `part ${part + 1} carries an affiliate link but none of the disclosures ${disclosures.map((d) => `"${d}"`).join(', ')}`,
      );
    if (rule.within !== null && at >= rule.within)
      throw refuse(part, `the disclosure starts at character ${at + 1}; it must start within the first ${rule.within}`);
  }
};

let installed: (() => void) | null = null;

/** Installs the disclosure check in scheduling (once per process). */
export function installDisclosureCheck(): void {
  installed ??= addTargetCheck(disclosureCheck);
}
