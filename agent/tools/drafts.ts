/**
 * Drafting tools: `draft_post` and `revise_draft`, each the schema the model fills plus a
 * call to `tools/drafting` (which writes in the brand's voice from the knowledge base, checks
 * every variant against its platform and guards revisions by version). A draft with media or
 * platform options is saved as REST saves one (`tools/posts`: `createPost`, `updateTarget`),
 * its text kept as given.
 */
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import { draftPost, reviseDraft } from '../../tools/drafting/index.js';
import { Accounts, compactPost, ctxOf, Id, Text } from './common.js';
import { applyDraftExtras, draftWithMedia, MediaRefs, PerAccount } from './posts.js';
import { defineTool } from './types.js';

const Variants = z
  .array(z.object({ account: z.string().min(1), text: Text }))
  .max(20)
  .optional()
  .describe('Per-account text, where a platform needs its own wording or length');

export const draftTools = [
  defineTool({
    name: 'draft_post',
    description:
      "Saves a draft post: one variant per account, each checked against that platform's limits, written in the brand voice from the knowledge base when it has one (kept as given when media or options come with it). Write each variant within the platform's length. Returns the postId to schedule or publish.",
    schema: z.object({
      text: Text.describe('The idea, or the main text; used for every account without a variant'),
      accounts: Accounts,
      variants: Variants,
      media: MediaRefs.optional().describe('Images or a video (uploaded media ids) for every account'),
      perAccount: PerAccount.optional(),
    }),
    sideEffect: false,
    untrustedOutput: (output) => (output as { style?: { fromKnowledge?: boolean } })?.style?.fromKnowledge ?? false,
    run: async (env, args) => {
      if (args.media || args.perAccount) return compactPost(await draftWithMedia(env, args));
      const { post, style } = await draftPost(
        { scheduling: env.deps, knowledge: env.knowledge, write: env.write },
        ctxOf(env),
        args,
      );
      return { ...compactPost(post), style };
    },
  }),
  defineTool({
    name: 'revise_draft',
    description:
      "Replaces the text of a draft (postId from draft_post): one text for every account, or per-account variants; and/or its media and platform options. Each variant is checked against its platform's limits.",
    schema: z.object({
      postId: Id,
      text: Text.optional().describe('New text for every draft account without a variant'),
      variants: Variants,
      media: MediaRefs.optional().describe('Images or a video (uploaded media ids) for every draft account'),
      perAccount: PerAccount.optional(),
    }),
    sideEffect: false,
    run: async (env, args) => {
      const textGiven = !!args.text || !!args.variants?.length;
      if (!textGiven && !args.media && !args.perAccount)
        throw new HeraldError('validation_failed', { message: 'Give the new text, variants, media or options' });
      const revised = textGiven ? await reviseDraft(env.deps, ctxOf(env), args.postId, args) : null;
      return compactPost((await applyDraftExtras(env, args.postId, args)) ?? revised!);
    },
  }),
];
