/**
 * The proposed timeline of a campaign: for each account, posts spread evenly over the date
 * range at the account's best hours to post (tools/analytics best-time, in the caller's
 * zone), rotating the products and the kinds of post, each text written from the product's
 * facts with the workspace's disclosure first and `{link}` where the post's own tracked link
 * goes. A/B pairs put two different texts for one product on consecutive slots.
 */
import { DateTime } from 'luxon';
import { getSocialAccount, type schema } from '../../core/index.js';
import { countGraphemes } from '../../connectors/index.js';
import { bestTimes } from '../analytics/index.js';
import type { AccountRef } from '../drafting/index.js';
import { nowOf, type CampaignsDeps, type ServiceContext } from './context.js';

export const LINK_PLACEHOLDER = '{link}';
export const CONTENT_KINDS = ['promotional', 'review', 'how_to', 'comparison', 'testimonial'] as const;
export type ContentKind = (typeof CONTENT_KINDS)[number];
/** Earliest a proposed post may be, from now: time to read and approve the timeline. */
export const PROPOSAL_LEAD_MS = 30 * 60_000;

type Product = typeof schema.products.$inferSelect;

/** Characters a short link takes in the text (a platform counting URLs at a fixed length counts less). */
export const shortLinkLength = (baseUrl: string) => `${baseUrl.replace(/\/+$/, '')}/l/XXXXXXXXXX`.length;

const sentence = (s: string | null, max: number) => {
  if (!s) return '';
  const first =
    s
      .replace(/\s+/g, ' ')
      .trim()
      .split(/(?<=[.!?])\s/)[0] ?? '';
  return first.length > max ? `${first.slice(0, Math.max(0, max - 1)).trimEnd()}…` : first;
};

const priceText = (p: Product) => (p.price ? ` (${p.price}${p.currency ? ` ${p.currency}` : ''})` : '');

/** Kinds this product can have: a comparison needs a second product, a testimonial a real one. */
export function kindsFor(product: Product, others: Product[]): ContentKind[] {
  return CONTENT_KINDS.filter((k) =>
    k === 'comparison' ? others.length > 0 : k === 'testimonial' ? product.testimonials.length > 0 : true,
  );
}

/**
 * A post of `kind` for the product within `max` characters (the link counted at `linkLength`).
 * Only the product's own facts and real testimonials are used.
 */
export function templateText(
  kind: ContentKind,
  product: Product,
  other: Product | null,
  disclosure: string,
  max: number,
  linkLength: number,
  n = 0,
): string {
  const frame = (body: string) => `${disclosure} ${body}`;
  const budget = (fixed: string) => Math.max(0, max - countGraphemes(fixed) - linkLength + LINK_PLACEHOLDER.length - 1);
  const build = (make: (facts: string) => string) => {
    const skeleton = make('');
    const facts = sentence(product.notes, budget(skeleton));
    return make(facts ? `${facts} ` : '');
  };
  switch (kind) {
    case 'review':
      return build((f) =>
        frame(`Honest take on ${product.name}${priceText(product)}: ${f}Full details: ${LINK_PLACEHOLDER}`),
      );
    case 'how_to':
      return build((f) => frame(`How to get the most from ${product.name}: ${f}Start here: ${LINK_PLACEHOLDER}`));
    case 'comparison':
      return build((f) =>
        frame(
          `${product.name} or ${other?.name ?? 'the alternatives'}? ${f}See why I pick ${product.name}: ${LINK_PLACEHOLDER}`,
        ),
      );
    case 'testimonial': {
      const t = product.testimonials[n % product.testimonials.length]!;
      const quote = t.quote.length > 200 ? `${t.quote.slice(0, 199)}…` : t.quote;
      return frame(`"${quote}" — ${t.author}, on ${product.name}. Try it: ${LINK_PLACEHOLDER}`);
    }
    default:
      return build((f) => frame(`${product.name}${priceText(product)}. ${f}Get it now: ${LINK_PLACEHOLDER}`));
  }
}

/** Candidate instants for an account: its best hours on every day of the range, in the caller's zone. */
async function candidateTimes(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  accountId: string,
  from: Date,
  to: Date,
): Promise<Date[]> {
  const best = await bestTimes({ db: deps.scheduling.db }, ctx, accountId, nowOf(deps));
  const hours = best.best.length ? best.best : [{ weekday: 0, hour: 10 }];
  const byWeekday = new Map<number, number[]>();
  for (const h of hours) byWeekday.set(h.weekday, [...(byWeekday.get(h.weekday) ?? []), h.hour]);
  const topHour = hours[0]!.hour;
  const out: Date[] = [];
  const earliest = Math.max(from.getTime(), nowOf(deps).getTime() + PROPOSAL_LEAD_MS);
  for (
    let day = DateTime.fromJSDate(from, { zone: ctx.timeZone }).startOf('day');
    day.toJSDate() < to;
    day = day.plus({ days: 1 })
  ) {
    // Each day gets its weekday's best hours, else the account's best hour overall.
    for (const hour of byWeekday.get(day.weekday) ?? [topHour]) {
      const at = day.set({ hour }).toJSDate();
      if (at.getTime() >= earliest && at < to) out.push(at);
    }
  }
  return out;
}

/** `n` of the sorted candidates, spread evenly. */
export function spread<T>(sorted: T[], n: number): T[] {
  if (n >= sorted.length) return sorted;
  return Array.from({ length: n }, (_, i) => sorted[Math.floor((i * sorted.length) / n)]!);
}

export interface ProposalInput {
  accounts: AccountRef[];
  products: Product[];
  from: Date;
  to: Date;
  postsPerWeek: number;
  abTest: boolean;
  disclosure: string;
}

/** Proposes the timeline (no side effect): each item one post on one account. */
export async function proposeTimeline(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  input: ProposalInput,
): Promise<schema.CampaignTimelineItem[]> {
  const days = (input.to.getTime() - input.from.getTime()) / 86_400_000;
  const perAccount = Math.max(1, Math.round((input.postsPerWeek * days) / 7));
  const linkLength = shortLinkLength(deps.links.baseUrl);
  const items: schema.CampaignTimelineItem[] = [];
  let serial = 0;
  for (const account of input.accounts) {
    const row = await getSocialAccount(deps.scheduling.db, ctx.workspaceId, account.id);
    const max =
      row && deps.scheduling.connectors.has(account.platform)
        ? deps.scheduling.connectors.get(account.platform).capabilities(row).text.max
        : 280;
    const times = spread(await candidateTimes(deps, ctx, account.id, input.from, input.to), perAccount);
    for (let i = 0; i < times.length; i++) {
      const pairIndex = input.abTest ? Math.floor(i / 2) : i;
      const product = input.products[pairIndex % input.products.length]!;
      const others = input.products.filter((p) => p.id !== product.id);
      const kinds = kindsFor(product, others);
      const variantB = input.abTest && i % 2 === 1;
      const kind = kinds[(pairIndex + (variantB ? 1 : 0)) % kinds.length]!;
      const other = others.length ? others[pairIndex % others.length]! : null;
      items.push({
        key: `i${++serial}`,
        at: times[i]!.toISOString(),
        socialAccountId: account.id,
        platform: account.platform,
        productId: product.id,
        kind,
        content: templateText(kind, product, other, input.disclosure, max, linkLength, pairIndex),
        ...(input.abTest && (i % 2 === 1 || i + 1 < times.length)
          ? { variantGroup: `${account.id.slice(0, 8)}-${pairIndex + 1}`, variant: variantB ? 'B' : 'A' }
          : {}),
      });
    }
  }
  return items.sort((a, b) => a.at.localeCompare(b.at) || a.key.localeCompare(b.key));
}
