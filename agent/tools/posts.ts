/**
 * The agent's post tools: thin zod-typed wrappers over `tools/posts`, `tools/drafting` and
 * `tools/scheduling`. Reads run at once; schedule, publish, queue, reschedule and cancel
 * describe their exact action (accounts, text, media, options, time in the user's zone) for
 * the confirmation step before they run. A send of new text is two service calls — save the
 * draft, then send it — with the draft's id journalled in between, so a replay after a crash
 * sends the same draft instead of making a second one. Media (ids of uploads made through REST
 * or the console) and per-account platform options are the same fields REST's
 * `POST /v1/posts` takes (`targets[].media`, `targets[].options`), saved and checked by the
 * same service functions (`createPost`, `updateTarget`, `checkTargets`, `schedulePostDraft`).
 */
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import { draftPost, reviseDraft } from '../../tools/drafting/index.js';
import {
  createPost,
  getPostView,
  queuePostDraft,
  schedulePostDraft,
  updateTarget,
  type PostView,
} from '../../tools/posts/index.js';
import {
  cancel,
  checkTargets,
  getPostStatus,
  getScheduledTarget,
  listScheduled,
  nextFreeSlot,
  reschedule,
} from '../../tools/scheduling/index.js';
import { rangeOf, readTime, showTime } from '../time.js';
import { label, resolveAccounts, workspaceAccounts, type AccountRef } from './accounts.js';
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

/** Media by id, as REST takes them: uploads made through `POST /v1/media` or the console. */
export const MediaRefs = z
  .array(
    z.object({
      mediaId: Id.describe('The id of an uploaded image or video (REST POST /v1/media, or the console)'),
      altText: z.string().max(1500).optional().describe('What the image shows, for people who cannot see it'),
    }),
  )
  .min(1)
  .max(20);

/** Nesting and size a platform's options may have: REST's bounds for free-form objects. */
const OPTIONS_MAX_DEPTH = 8;
const OPTIONS_MAX_BYTES = 16 * 1024;
function depthOf(v: unknown, d = 0): number {
  if (typeof v !== 'object' || v === null || d > OPTIONS_MAX_DEPTH) return d;
  return Math.max(d + 1, ...Object.values(v).map((x) => depthOf(x, d + 1)));
}

/** A platform's options for one target, exactly as REST's `targets[].options`; checked by the platform at schedule time. */
export const PlatformOptions = z
  .record(z.string().max(64), z.unknown())
  .refine((o) => depthOf(o) <= OPTIONS_MAX_DEPTH, `options may nest ${OPTIONS_MAX_DEPTH} levels at most`)
  .refine(
    (o) => Buffer.byteLength(JSON.stringify(o)) <= OPTIONS_MAX_BYTES,
    `options may take ${OPTIONS_MAX_BYTES} bytes at most`,
  )
  .describe(
    'Platform options: YouTube {title, privacyStatus: public|unlisted|private, tags, short}; Pinterest {boardId, title, link}; TikTok {privacyLevel (one the account allows), allowComment, allowDuet, allowStitch}; Instagram {kind: feed|reel|story, collaborators}; Facebook {link, firstComment}; Threads {replyControl}; LinkedIn {visibility}',
  );

/** What one account of a post gets beside the shared text and media. */
export const PerAccount = z
  .array(
    z.object({
      account: z.string().min(1).max(200).describe("One of the post's accounts: id, platform or handle"),
      media: MediaRefs.optional().describe("This account's media, instead of the shared `media`"),
      options: PlatformOptions.optional(),
    }),
  )
  .min(1)
  .max(20)
  .describe(
    'Per-account media and platform options (Instagram needs an image or video; YouTube a title; Pinterest a board)',
  );

interface MediaArgs {
  media?: Array<{ mediaId: string; altText?: string | undefined }> | undefined;
  perAccount?:
    | Array<{
        account: string;
        media?: Array<{ mediaId: string; altText?: string | undefined }> | undefined;
        options?: Record<string, unknown> | undefined;
      }>
    | undefined;
}

interface Extra {
  media?: Array<{ mediaId: string; altText?: string }>;
  options?: Record<string, unknown>;
}

const mediaOf = (m: NonNullable<MediaArgs['media']>) =>
  m.map((x) => ({ mediaId: x.mediaId, ...(x.altText ? { altText: x.altText } : {}) }));

/**
 * The media and options each of `accountIds` gets from the arguments: its `perAccount` entry
 * first, then the shared `media`. An entry naming an account the post does not go to is an error.
 */
async function extrasOf(env: ToolEnv, accountIds: string[], args: MediaArgs): Promise<Map<string, Extra>> {
  const out = new Map<string, Extra>();
  if (args.media) for (const id of accountIds) out.set(id, { media: mediaOf(args.media) });
  for (const entry of args.perAccount ?? []) {
    const [account] = await resolveAccounts(env, [entry.account]);
    if (!account || !accountIds.includes(account.id))
      throw new HeraldError('validation_failed', {
        message: `perAccount names "${entry.account}", which this post does not go to`,
        details: { issues: [{ field: 'perAccount.account', message: "not one of the post's accounts" }] },
      });
    out.set(account.id, {
      ...out.get(account.id),
      ...(entry.media ? { media: mediaOf(entry.media) } : {}),
      ...(entry.options ? { options: entry.options } : {}),
    });
  }
  return out;
}

const hasExtras = (args: MediaArgs) => !!args.media || !!args.perAccount?.length;

interface Shaped {
  account: AccountRef;
  text: string;
  media: Array<{ mediaId: string; altText?: string }>;
  options: Record<string, unknown>;
}

/** The accounts, text, media and options a post (or new text) would go out with. */
async function postShape(
  env: ToolEnv,
  args: { postId?: string | undefined; text?: string | undefined; accounts?: string[] | undefined } & MediaArgs,
): Promise<Shaped[]> {
  if (args.postId) {
    const post = await getPostView(env.deps, ctxOf(env), args.postId);
    const drafts = post.targets.filter((t) => t.status === 'draft');
    if (drafts.length === 0)
      throw new HeraldError('invalid_state', { message: `Post ${args.postId} has no draft left to send` });
    const accounts = await workspaceAccounts(env);
    const extras = await extrasOf(
      env,
      drafts.map((t) => t.socialAccountId),
      args,
    );
    return drafts.map((t) => ({
      account: accounts.find((a) => a.id === t.socialAccountId) ?? {
        id: t.socialAccountId,
        platform: t.platform,
        handle: '?',
      },
      text: args.text ?? t.content,
      media: extras.get(t.socialAccountId)?.media ?? t.media,
      options: extras.get(t.socialAccountId)?.options ?? t.options,
    }));
  }
  if (!args.text || !args.accounts?.length)
    throw new HeraldError('validation_failed', { message: 'Give a postId (a draft), or text and accounts' });
  const accounts = await resolveAccounts(env, args.accounts);
  const extras = await extrasOf(
    env,
    accounts.map((a) => a.id),
    args,
  );
  return accounts.map((account) => ({
    account,
    text: args.text!,
    media: extras.get(account.id)?.media ?? [],
    options: extras.get(account.id)?.options ?? {},
  }));
}

function describeShape(
  verb: string,
  shape: Shaped[],
  when: string | null,
  extra: Record<string, unknown>,
): ProposedAction {
  const lines = shape.map((s) => {
    const media = s.media.length ? ` with ${s.media.length} media (${s.media.map((m) => m.mediaId).join(', ')})` : '';
    const opts = Object.keys(s.options).length ? ` options ${JSON.stringify(s.options)}` : '';
    return `${label(s.account)}: "${clip(s.text)}"${media}${opts}`;
  });
  return {
    summary: `${verb} ${when ? `at ${when} ` : ''}on ${lines.join('; ')}`,
    details: {
      ...extra,
      targets: shape.map((s) => ({
        socialAccountId: s.account.id,
        platform: s.account.platform,
        handle: s.account.handle,
        text: s.text,
        media: s.media,
        options: s.options,
      })),
    },
  };
}

/** Replaces a draft's text on every draft target before it is sent (the user's edit). */
async function applyDraftText(env: ToolEnv, postId: string, text: string | undefined) {
  if (text) await reviseDraft(env.deps, ctxOf(env), postId, { text });
}

/**
 * Sets the given media and options on a draft's targets through `updateTarget`, the function
 * REST's `PUT /v1/posts/:id/targets/:targetId` calls (each target keeps its text and what was
 * not given). Setting the same values again changes nothing, so a replay may repeat it.
 */
export async function applyDraftExtras(env: ToolEnv, postId: string, args: MediaArgs): Promise<PostView | null> {
  if (!hasExtras(args)) return null;
  const ctx = ctxOf(env);
  const drafts = (await getPostView(env.deps, ctx, postId)).targets.filter((t) => t.status === 'draft');
  const extras = await extrasOf(
    env,
    drafts.map((t) => t.socialAccountId),
    args,
  );
  for (const t of drafts) {
    const e = extras.get(t.socialAccountId);
    if (!e) continue;
    await updateTarget(env.deps, ctx, postId, t.id, {
      content: t.content,
      threadParts: t.threadParts,
      media: e.media ?? t.media,
      options: e.options ?? t.options,
      version: t.version,
    });
  }
  return getPostView(env.deps, ctx, postId);
}

/**
 * Saves a draft with media and options, as REST's `POST /v1/posts` does (`mode: 'draft'`),
 * after checking every target against its platform as scheduling will: bad text, media the
 * platform cannot take, or a bad option create nothing.
 */
export async function draftWithMedia(
  env: ToolEnv,
  args: {
    text: string;
    accounts: string[];
    variants?: Array<{ account: string; text: string }> | undefined;
  } & MediaArgs,
): Promise<PostView> {
  const accounts = await resolveAccounts(env, args.accounts);
  const textOf = new Map<string, string>();
  for (const v of args.variants ?? []) {
    const [a] = await resolveAccounts(env, [v.account]);
    if (a) textOf.set(a.id, v.text);
  }
  const extras = await extrasOf(
    env,
    accounts.map((a) => a.id),
    args,
  );
  const targets = accounts.map((a) => ({
    socialAccountId: a.id,
    content: textOf.get(a.id) ?? args.text,
    media: extras.get(a.id)?.media ?? [],
    options: extras.get(a.id)?.options ?? {},
  }));
  await checkTargets(
    env.deps.db,
    env.deps.connectors,
    env.session.workspaceId,
    targets.map((t) => ({ ...t, threadParts: [], at: null })),
  );
  return createPost(env.deps, ctxOf(env), { content: args.text, targets, mode: 'draft' });
}

/**
 * The post a send works on: the given draft (with the text, media and options given applied),
 * or — for new text — a draft created once per tool call (recorded in the journal, so a replay
 * after a crash reuses it), checked against every platform first so bad input creates nothing.
 */
async function draftOnce(
  env: ToolEnv,
  args: { postId?: string | undefined; text?: string | undefined; accounts?: string[] | undefined } & MediaArgs,
  journal: ActionJournal,
): Promise<string> {
  if (args.postId) {
    await applyDraftText(env, args.postId, args.text);
    await applyDraftExtras(env, args.postId, args);
    return args.postId;
  }
  const recorded = journal.progress.postId;
  if (typeof recorded === 'string') return recorded;
  if (!args.text || !args.accounts?.length)
    throw new HeraldError('validation_failed', { message: 'Give a postId (a draft), or text and accounts' });
  // Checked against every platform before it is saved: a bad text creates nothing.
  const post = hasExtras(args)
    ? await draftWithMedia(env, { text: args.text, accounts: args.accounts, ...args })
    : (
        await draftPost(
          { scheduling: env.deps },
          ctxOf(env),
          { text: args.text, accounts: args.accounts },
          { sendAsIs: true },
        )
      ).post;
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

type SendInput = {
  postId?: string | undefined;
  text?: string | undefined;
  accounts?: string[] | undefined;
} & MediaArgs;

const sendPost = async (env: ToolEnv, args: SendInput, when: { at?: string; now?: boolean }, journal: ActionJournal) =>
  scheduleDraftOnce(env, await draftOnce(env, args, journal), when, journal);

const SendArgs = z.object({
  postId: Id.optional().describe('A draft to send (from draft_post)'),
  text: Text.optional().describe('Text of a new post, when there is no draft'),
  accounts: Accounts.optional(),
  media: MediaRefs.optional().describe('Images or a video (uploaded media ids) for every account'),
  perAccount: PerAccount.optional(),
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
    description:
      'Schedules a draft (postId) or new text on accounts at a time, with uploaded media and per-account platform options. The user confirms first.',
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
    description:
      'Publishes a draft (postId) or new text on accounts right away, with uploaded media and per-account platform options. The user confirms first.',
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
