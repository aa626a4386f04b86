/**
 * The agent's post tools: thin zod-typed wrappers over `tools/posts`, `tools/drafting` and
 * `tools/scheduling`. Reads run at once; schedule, publish, queue, reschedule and cancel
 * describe their exact action (accounts, text, time in the user's zone) for the confirmation
 * step before they run. A send of new text is two service calls — save the draft, then send
 * it — with the draft's id journalled in between, so a replay after a crash sends the same
 * draft instead of making a second one.
 */
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import { draftPost, reviseDraft } from '../../tools/drafting/index.js';
import { getPostView, queuePostDraft, schedulePostDraft } from '../../tools/posts/index.js';
import {
  cancel,
  getPostStatus,
  getScheduledTarget,
  listScheduled,
  nextFreeSlot,
  reschedule,
} from '../../tools/scheduling/index.js';
import { rangeOf, readTime, showTime } from '../time.js';
import { label, resolveAccounts, workspaceAccounts } from './accounts.js';
import { Accounts, At, clip, compactPost, ctxOf, Id, Text } from './common.js';
import { defineTool, type ActionJournal, type ProposedAction, type ToolEnv } from './types.js';

function whenOf(env: ToolEnv, at: string) {
  const instant = readTime(at, env.session.timeZone, env.now());
  return {
    instant,
    iso: instant.toISOString(),
    shown: `${showTime(instant, env.session.timeZone)} (${env.session.timeZone})`,
  };
}

/** The accounts and text a post (or new text) would go out with. */
async function postShape(
  env: ToolEnv,
  args: { postId?: string | undefined; text?: string | undefined; accounts?: string[] | undefined },
) {
  if (args.postId) {
    const post = await getPostView(env.deps, ctxOf(env), args.postId);
    const drafts = post.targets.filter((t) => t.status === 'draft');
    if (drafts.length === 0)
      throw new HeraldError('invalid_state', { message: `Post ${args.postId} has no draft left to send` });
    const accounts = await workspaceAccounts(env);
    return drafts.map((t) => ({
      account: accounts.find((a) => a.id === t.socialAccountId) ?? {
        id: t.socialAccountId,
        platform: t.platform,
        handle: '?',
      },
      text: args.text ?? t.content,
    }));
  }
  if (!args.text || !args.accounts?.length)
    throw new HeraldError('validation_failed', { message: 'Give a postId (a draft), or text and accounts' });
  return (await resolveAccounts(env, args.accounts)).map((account) => ({ account, text: args.text! }));
}

function describeShape(
  verb: string,
  shape: Awaited<ReturnType<typeof postShape>>,
  when: string | null,
  extra: Record<string, unknown>,
): ProposedAction {
  const lines = shape.map((s) => `${label(s.account)}: "${clip(s.text)}"`);
  return {
    summary: `${verb} ${when ? `at ${when} ` : ''}on ${lines.join('; ')}`,
    details: {
      ...extra,
      targets: shape.map((s) => ({
        socialAccountId: s.account.id,
        platform: s.account.platform,
        handle: s.account.handle,
        text: s.text,
      })),
    },
  };
}

/** Replaces a draft's text on every draft target before it is sent (the user's edit). */
async function applyDraftText(env: ToolEnv, postId: string, text: string | undefined) {
  if (text) await reviseDraft(env.deps, ctxOf(env), postId, { text });
}

/**
 * The post a send works on: the given draft, or — for new text — a draft created once per
 * tool call (recorded in the journal, so a replay after a crash reuses it), checked against
 * every platform first so a bad text creates nothing.
 */
async function draftOnce(
  env: ToolEnv,
  args: { postId?: string | undefined; text?: string | undefined; accounts?: string[] | undefined },
  journal: ActionJournal,
): Promise<string> {
  if (args.postId) {
    await applyDraftText(env, args.postId, args.text);
    return args.postId;
  }
  const recorded = journal.progress.postId;
  if (typeof recorded === 'string') return recorded;
  if (!args.text || !args.accounts?.length)
    throw new HeraldError('validation_failed', { message: 'Give a postId (a draft), or text and accounts' });
  // Checked against every platform before it is saved: a bad text creates nothing.
  const { post } = await draftPost({ scheduling: env.deps }, ctxOf(env), { text: args.text, accounts: args.accounts });
  await journal.note({ postId: post.id });
  return post.id;
}

/**
 * Schedules (or publishes) the draft's targets. On a replay whose first attempt already moved
 * every draft on, that is the result: the post as it is now, not a second schedule.
 */
async function scheduleDraftOnce(
  env: ToolEnv,
  postId: string,
  when: { at?: string; now?: boolean } | 'queue',
  journal: ActionJournal,
) {
  const ctx = ctxOf(env);
  if (journal.replay) {
    const post = await getPostView(env.deps, ctx, postId);
    if (!post.targets.some((t) => t.status === 'draft')) return compactPost(post);
  }
  return compactPost(
    when === 'queue'
      ? await queuePostDraft(env.deps, ctx, postId)
      : await schedulePostDraft(env.deps, ctx, postId, when),
  );
}

const sendPost = async (
  env: ToolEnv,
  args: { postId?: string | undefined; text?: string | undefined; accounts?: string[] | undefined },
  when: { at?: string; now?: boolean },
  journal: ActionJournal,
) => scheduleDraftOnce(env, await draftOnce(env, args, journal), when, journal);

const SendArgs = z.object({
  postId: Id.optional().describe('A draft to send (from draft_post)'),
  text: Text.optional().describe('Text of a new post, when there is no draft'),
  accounts: Accounts.optional(),
});

export const postTools = [
  defineTool({
    name: 'list_accounts',
    description: 'The social accounts connected to this workspace (id, platform, handle).',
    schema: z.object({}),
    sideEffect: false,
    run: (env) => workspaceAccounts(env),
  }),
  defineTool({
    name: 'schedule_post',
    description: 'Schedules a draft (postId) or new text on accounts at a time. The user confirms first.',
    schema: SendArgs.extend({ at: At }),
    sideEffect: true,
    describe: async (env, args) => {
      const when = whenOf(env, args.at);
      return describeShape('Schedule', await postShape(env, args), when.shown, {
        tool: 'schedule_post',
        at: when.iso,
        atLocal: when.shown,
        postId: args.postId ?? null,
      });
    },
    applyEdit: (args, edit) => ({
      ...args,
      ...(edit.text ? { text: edit.text } : {}),
      ...(edit.at ? { at: edit.at } : {}),
    }),
    run: (env, args, journal) => sendPost(env, args, { at: whenOf(env, args.at).iso }, journal),
  }),
  defineTool({
    name: 'publish_now',
    description: 'Publishes a draft (postId) or new text on accounts right away. The user confirms first.',
    schema: SendArgs,
    sideEffect: true,
    describe: async (env, args) =>
      describeShape('Publish now', await postShape(env, args), null, {
        tool: 'publish_now',
        postId: args.postId ?? null,
      }),
    applyEdit: (args, edit) => ({ ...args, ...(edit.text ? { text: edit.text } : {}) }),
    run: (env, args, journal) => sendPost(env, args, { now: true }, journal),
  }),
  defineTool({
    name: 'add_to_queue',
    description:
      "Schedules a draft (postId) or new text in each account's next free weekly posting slot (see get_slots). The user confirms first.",
    schema: SendArgs,
    sideEffect: true,
    describe: async (env, args) => {
      const shape = await postShape(env, args);
      const slots = await Promise.all(shape.map((s) => nextFreeSlot(env.deps, ctxOf(env), s.account.id, env.now())));
      const action = describeShape('Queue', shape, null, { tool: 'add_to_queue' });
      action.summary += ` — next free slots: ${slots.map((d) => showTime(d, env.session.timeZone)).join(', ')} (${env.session.timeZone})`;
      return action;
    },
    applyEdit: (args, edit) => ({ ...args, ...(edit.text ? { text: edit.text } : {}) }),
    // Each account's next free slot is picked and taken under that account's queue lock.
    run: async (env, args, journal) => scheduleDraftOnce(env, await draftOnce(env, args, journal), 'queue', journal),
  }),
  defineTool({
    name: 'list_scheduled',
    description: "Posts scheduled or sent in a period (default: the next 7 days), times in the user's zone.",
    schema: z.object({ from: At.optional(), to: At.optional() }),
    sideEffect: false,
    untrustedOutput: true,
    run: async (env, args) => {
      const def = rangeOf('next 7 days', env.session.timeZone, env.now());
      const from = args.from ? readTime(args.from, env.session.timeZone, env.now()) : def.from;
      const to = args.to ? readTime(args.to, env.session.timeZone, env.now()) : def.to;
      const rows = await listScheduled(env.deps, ctxOf(env), { from, to });
      return rows.map((t) => ({
        targetId: t.id,
        postId: t.postId,
        platform: t.platform,
        status: t.status,
        at: t.scheduledAtLocal,
        text: clip(t.content, 200),
      }));
    },
  }),
  defineTool({
    name: 'get_post_status',
    description: "A post with each account's status, time, attempts and last error.",
    schema: z.object({ postId: Id }),
    sideEffect: false,
    untrustedOutput: true,
    run: async (env, args) => {
      const s = await getPostStatus(env.deps, ctxOf(env), args.postId);
      return {
        postId: s.post.id,
        targets: s.targets.map((t) => ({
          targetId: t.id,
          platform: t.platform,
          status: t.status,
          at: t.scheduledAtLocal,
          text: t.content,
          url: t.platformUrl,
          lastError: t.lastError,
          attempts: t.attempts.length,
        })),
      };
    },
  }),
  defineTool({
    name: 'reschedule',
    description: 'Moves one scheduled post (targetId) to a new time. The user confirms first.',
    schema: z.object({ targetId: Id, at: At }),
    sideEffect: true,
    describe: async (env, args) => {
      const target = await requireTarget(env, args.targetId);
      const when = whenOf(env, args.at);
      const from = target.scheduledAt ? `${showTime(target.scheduledAt, env.session.timeZone)}` : 'unscheduled';
      return {
        summary: `Move the ${target.platform} post "${clip(target.content, 120)}" from ${from} to ${when.shown}`,
        details: {
          tool: 'reschedule',
          targetId: target.id,
          platform: target.platform,
          text: target.content,
          at: when.iso,
          atLocal: when.shown,
        },
      };
    },
    applyEdit: (args, edit) => ({ ...args, ...(edit.at ? { at: edit.at } : {}) }),
    run: async (env, args) => {
      const t = await reschedule(env.deps, ctxOf(env), args.targetId, whenOf(env, args.at).iso);
      return { targetId: t.id, platform: t.platform, status: t.status, at: t.scheduledAtLocal };
    },
  }),
  defineTool({
    name: 'cancel',
    description: 'Cancels one scheduled post (targetId); it will not be published. The user confirms first.',
    schema: z.object({ targetId: Id }),
    sideEffect: true,
    describe: async (env, args) => {
      const target = await requireTarget(env, args.targetId);
      const at = target.scheduledAt
        ? ` (${showTime(target.scheduledAt, env.session.timeZone)} ${env.session.timeZone})`
        : '';
      return {
        summary: `Cancel the ${target.platform} post${at}: "${clip(target.content, 160)}"`,
        details: {
          tool: 'cancel',
          targetId: target.id,
          platform: target.platform,
          text: target.content,
          at: target.scheduledAt?.toISOString() ?? null,
        },
      };
    },
    run: async (env, args, journal) => {
      if (journal.replay) {
        // The first attempt may have cancelled it already.
        const before = await requireTarget(env, args.targetId);
        if (before.status === 'cancelled')
          return { targetId: before.id, platform: before.platform, status: before.status };
      }
      const t = await cancel(env.deps, ctxOf(env), args.targetId);
      return { targetId: t.id, platform: t.platform, status: t.status };
    },
  }),
];

const requireTarget = (env: ToolEnv, targetId: string) => getScheduledTarget(env.deps, ctxOf(env), targetId);
