/**
 * Content ideas from a rising topic, and an idea turned into a draft through
 * `tools/drafting` (which writes it in the brand's voice when the knowledge base has one).
 * Ideas are built from the topic's figures, not by a model reading the outside items: an
 * item's title appears only as a short attributed quote, so nothing in it is followed.
 */
import { HeraldError, requireRole } from '../../core/index.js';
import { draftPost, type DraftingDeps, type DraftResult } from '../drafting/index.js';
import type { ServiceContext } from '../scheduling/context.js';
import { risingTopics, type RisingTopic } from './rising.js';

/** Longest quote of an outside item an idea carries. */
export const MAX_QUOTE = 120;

export interface ContentIdea {
  angle: 'explainer' | 'reaction' | 'question';
  text: string;
  /** The topic's score: how strongly it is rising in the niche. */
  potential: number;
  /** Where the quoted item came from (attribution). */
  basedOn: { source: string; url: string | null } | null;
}

const quote = (s: string) => (s.length > MAX_QUOTE ? `${s.slice(0, MAX_QUOTE - 1)}…` : s);

export function ideasFor(topic: RisingTopic): ContentIdea[] {
  const top = topic.evidence[0];
  const where = topic.sources.join(', ');
  const ideas: ContentIdea[] = [
    {
      angle: 'explainer',
      text: `Why everyone is talking about ${topic.term} right now (${topic.mentions.current} new mentions on ${where}): what it means for our audience.`,
      potential: topic.score,
      basedOn: null,
    },
    {
      angle: 'question',
      text: `Ask our audience: where do you stand on ${topic.term}? Share one thing you have tried.`,
      potential: Math.round(topic.score * 80) / 100,
      basedOn: null,
    },
  ];
  if (top)
    ideas.splice(1, 0, {
      angle: 'reaction',
      text: `Our take on "${quote(top.title)}"${top.url ? ` (via ${top.url})` : ` (via ${top.source})`}`,
      potential: Math.round(topic.score * 90) / 100,
      basedOn: { source: top.source, url: top.url },
    });
  return ideas;
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
  const topic = await topicOf(deps, ctx, input.term, input.windowHours);
  return { term: topic.term, ideas: ideasFor(topic) };
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
