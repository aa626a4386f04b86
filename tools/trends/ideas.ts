/**
 * Content ideas from a rising topic, and an idea turned into a draft through
 * `tools/drafting` (which writes it in the brand's voice when the knowledge base has one).
 * Each idea's potential is the topic's strength, raised or lowered by what works for the
 * workspace (tools/analytics' `whatWorks`: when its own top posts ask questions, carry links
 * or run long measurably more or less than the rest, the matching angle gains or loses).
 * Ideas are built from the topic's figures, not by a model reading the outside items: an
 * item's title appears only as a short attributed quote, so nothing in it is followed.
 */
import { HeraldError, requireRole } from '../../core/index.js';
import { whatWorks, type Finding, type WhatWorks } from '../analytics/index.js';
import { draftPost, type DraftingDeps, type DraftResult } from '../drafting/index.js';
import type { ServiceContext } from '../scheduling/context.js';
import { risingTopics, type RisingTopic } from './rising.js';

/** Longest quote of an outside item an idea carries. */
export const MAX_QUOTE = 120;

export interface ContentIdea {
  angle: 'explainer' | 'reaction' | 'question';
  text: string;
  /** The topic's score (how strongly it is rising in the niche), adjusted by what works for you. */
  potential: number;
  /** Where the quoted item came from (attribution). */
  basedOn: { source: string; url: string | null } | null;
  /** The finding of your own posts that moved the potential, or null. */
  worksForYou: { feature: string; certainty: Finding['certainty']; factor: number; text: string } | null;
}

/** The feature of your own posts each angle leans on: questions ask, reactions link, explainers run long. */
export const ANGLE_FEATURE: Record<ContentIdea['angle'], string> = {
  explainer: 'length',
  reaction: 'link',
  question: 'question',
};
/** How much a sure finding moves an angle's potential (× 1 ± this). */
export const WORKS_WEIGHT: Record<Exclude<Finding['certainty'], 'unclear'>, number> = { strong: 0.3, likely: 0.15 };

function worksFor(angle: ContentIdea['angle'], works: WhatWorks | null): ContentIdea['worksForYou'] {
  const f = works?.findings.find((x) => x.feature === ANGLE_FEATURE[angle]);
  if (!f || f.certainty === 'unclear' || f.top === f.rest) return null;
  const factor = Math.round((1 + (f.top > f.rest ? 1 : -1) * WORKS_WEIGHT[f.certainty]) * 100) / 100;
  return { feature: f.feature, certainty: f.certainty, factor, text: f.text };
}

const quote = (s: string) => (s.length > MAX_QUOTE ? `${s.slice(0, MAX_QUOTE - 1)}…` : s);

export function ideasFor(topic: RisingTopic, works: WhatWorks | null = null): ContentIdea[] {
  const top = topic.evidence[0];
  const where = topic.sources.join(', ');
  const idea = (angle: ContentIdea['angle'], text: string, share: number, basedOn: ContentIdea['basedOn']) => {
    const worksForYou = worksFor(angle, works);
    const potential = Math.round(topic.score * share * (worksForYou?.factor ?? 1) * 100) / 100;
    return { angle, text, potential, basedOn, worksForYou };
  };
  const ideas: ContentIdea[] = [
    idea(
      'explainer',
      `Why everyone is talking about ${topic.term} right now (${topic.mentions.current} new mentions on ${where}): what it means for our audience.`,
      1,
      null,
    ),
    idea(
      'question',
      `Ask our audience: where do you stand on ${topic.term}? Share one thing you have tried.`,
      0.8,
      null,
    ),
  ];
  if (top)
    ideas.splice(
      1,
      0,
      idea(
        'reaction',
        `Our take on "${quote(top.title)}"${top.url ? ` (via ${top.url})` : ` (via ${top.source})`}`,
        0.9,
        { source: top.source, url: top.url },
      ),
    );
  return ideas;
}

/** What works for the workspace, or null when it cannot be read (ideas never fail for it). */
async function worksOf(deps: DraftingDeps, ctx: ServiceContext): Promise<WhatWorks | null> {
  try {
    return await whatWorks({ db: deps.scheduling.db }, ctx, { now: deps.scheduling.now?.() ?? new Date() });
  } catch {
    return null;
  }
}

async function topicOf(deps: DraftingDeps, ctx: ServiceContext, term: string, windowHours?: number) {
  const wanted = term.trim().toLowerCase().replace(/^#/, '');
  const result = await risingTopics({ db: deps.scheduling.db, now: deps.scheduling.now }, ctx, {
    topic: wanted,
    windowHours,
    limit: 100,
  });
  const topic = result.topics.find((t) => t.term === wanted);
  if (!topic)
    throw new HeraldError('not_found', { message: `"${wanted}" is not rising in this workspace's niche now` });
  return topic;
}

export async function contentIdeas(
  deps: DraftingDeps,
  ctx: ServiceContext,
  input: { term: string; windowHours?: number | undefined },
): Promise<{ term: string; ideas: ContentIdea[] }> {
  requireRole(ctx, 'viewer');
  const [topic, works] = await Promise.all([topicOf(deps, ctx, input.term, input.windowHours), worksOf(deps, ctx)]);
  return { term: topic.term, ideas: ideasFor(topic, works) };
}

/** One idea becomes a draft (nothing is scheduled or published). */
export async function draftFromIdea(
  deps: DraftingDeps,
  ctx: ServiceContext,
  input: { term: string; idea: number; accounts: string[]; windowHours?: number | undefined },
): Promise<DraftResult & { idea: ContentIdea }> {
  requireRole(ctx, 'editor');
  const { ideas } = await contentIdeas(deps, ctx, input);
  const idea = ideas[input.idea];
  if (!idea) throw new HeraldError('validation_failed', { message: `idea must be 0 to ${ideas.length - 1}` });
  return { ...(await draftPost(deps, ctx, { text: idea.text, accounts: input.accounts })), idea };
}
