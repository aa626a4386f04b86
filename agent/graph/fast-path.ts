/**
 * The fast path: common commands answered without any model — "what's scheduled this week",
 * "cancel the 9am Mastodon post", "move it to Friday 3pm", "publish the draft now", "show
 * last week's stats". Times are
 * read with chrono-node in the user's zone. It either answers (reads) or proposes one tool
 * call, which goes through the same confirmation step as the model's. Anything it is not
 * sure of — no match, no single post that fits — returns null and goes to the model. It reads
 * only through the services (`tools/*`), with the session's context, as the tools do.
 */
import { DateTime } from 'luxon';
import { publishingStats, statsText } from '../../tools/analytics/index.js';
import { listPosts } from '../../tools/posts/index.js';
import { listScheduled } from '../../tools/scheduling/index.js';
import { findTime, rangeOf, showTime, type RangeName } from '../time.js';
import { workspaceAccounts } from '../tools/accounts.js';
import { periodOf } from '../tools/analytics.js';
import { ctxOf } from '../tools/common.js';
import type { ToolEnv } from '../tools/index.js';

export type FastResult =
  { kind: 'answer'; text: string } | { kind: 'call'; name: string; args: Record<string, unknown> };

const LIST =
  /^\s*(?:what(?:'s| is| do i have)|show(?: me)?|list)\b.*\b(?:scheduled|planned|queued|coming up|going out)\b(.*)$/i;
const CANCEL = /^\s*(?:please\s+)?cancel\s+(?:the|my)\s+(.+?)\s+post\s*[.!]?\s*$/i;
const MOVE = /^\s*(?:please\s+)?(?:move|reschedule)\s+(it|that|that post|the\s+.+?\s+post)\s+to\s+(.+?)\s*[.!]?\s*$/i;
const STATS =
  /^\s*(?:show(?: me)?|what (?:are|were)|give me)\s+(?:the\s+)?(last week'?s?|this week'?s?|the last 7 days'?|today'?s?)?\s*(?:post(?:ing)?\s+)?(?:stats|statistics|analytics|numbers|results)(?:\s+(?:for|of)\s+(last week|this week|the last 7 days|today))?\s*[?.!]?\s*$/i;
const PUBLISH =
  /^\s*(?:please\s+)?publish\s+(?:the|my|that)\s+(?:latest\s+|last\s+)?draft\s+(?:right\s+)?now\s*[.!]?\s*$/i;

const PERIODS: Array<[RegExp, RangeName]> = [
  [/\btoday\b/i, 'today'],
  [/\btomorrow\b/i, 'tomorrow'],
  [/\bthis week\b/i, 'this week'],
  [/\bnext week\b/i, 'next week'],
];

/** Whether the text has the shape of a fast-path command; anything else goes straight to the model. */
export function mightBeFast(text: string): boolean {
  return [LIST, CANCEL, MOVE, STATS, PUBLISH].some((re) => re.test(text));
}

export async function fastPath(
  text: string,
  env: ToolEnv,
  focus: { postId?: string | undefined; targetId?: string | undefined },
): Promise<FastResult | null> {
  const zone = env.session.timeZone;
  const list = LIST.exec(text);
  if (list) {
    const rest = list[1] ?? '';
    const named = PERIODS.find(([re]) => re.test(rest));
    // Some other period ("in March", "after the launch"): the model knows better.
    if (!named && rest.replace(/[?.!\s]/g, '') !== '') return null;
    const period: RangeName = named?.[1] ?? 'next 7 days';
    const { from, to, label } = rangeOf(period, zone, env.now());
    const rows = await listScheduled(env.deps, ctxOf(env), { from, to, statuses: ['scheduled', 'pending_approval'] });
    // The days are said every time: "this week" on a Sunday means the coming one too.
    const when = `${period === 'next 7 days' ? 'in the next 7 days' : period}, ${label}`;
    if (rows.length === 0) return { kind: 'answer', text: `Nothing is scheduled ${when}.` };
    const lines = rows.map(
      (t) =>
        `- ${showTime(t.scheduledAt!, zone)} · ${t.platform} · "${t.content.length > 80 ? `${t.content.slice(0, 79)}…` : t.content}"`,
    );
    return {
      kind: 'answer',
      text: `Scheduled ${when} (${zone}):\n${lines.join('\n')}`,
    };
  }

  const cancel = CANCEL.exec(text);
  if (cancel) {
    const targetId = await findOne(env, cancel[1]!);
    return targetId ? { kind: 'call', name: 'cancel', args: { targetId } } : null;
  }

  const move = MOVE.exec(text);
  if (move) {
    const which = move[1]!;
    const when = findTime(move[2]!, zone, env.now());
    if (!when?.hasHour && !when?.hasDay) return null;
    const targetId = /^(it|that|that post)$/i.test(which)
      ? focus.targetId
      : await findOne(env, which.replace(/^the\s+|\s+post$/gi, ''));
    if (!targetId) return null;
    const at = DateTime.fromJSDate(when.instant, { zone }).toFormat("yyyy-MM-dd'T'HH:mm");
    return { kind: 'call', name: 'reschedule', args: { targetId, at } };
  }

  const stats = STATS.exec(text);
  if (stats) {
    const said = (stats[1] ?? stats[2] ?? 'the last 7 days').toLowerCase().replace(/'s?$/, '');
    const period = said.startsWith('last week')
      ? 'last week'
      : said.startsWith('this week')
        ? 'this week'
        : said.startsWith('today')
          ? 'today'
          : 'last 7 days';
    const range = periodOf(period, zone, env.now());
    const { from, to } = range;
    const label = `${period === 'last 7 days' ? 'in the last 7 days' : period}, ${range.label}`;
    return { kind: 'answer', text: statsText(label, zone, await publishingStats(env.deps, ctxOf(env), { from, to })) };
  }

  if (PUBLISH.test(text)) {
    const postId = focus.postId ?? (await onlyDraft(env));
    return postId ? { kind: 'call', name: 'publish_now', args: { postId } } : null;
  }
  return null;
}

/**
 * The one scheduled target that a description like "9am mastodon" or "friday 3pm" names,
 * in the next 14 days; null when none or several fit.
 */
async function findOne(env: ToolEnv, description: string): Promise<string | null> {
  const zone = env.session.timeZone;
  const now = env.now();
  const when = findTime(description, zone, now);
  const platforms = new Set((await workspaceAccounts(env)).map((a) => a.platform));
  const platform = [...platforms].find((p) => new RegExp(`\\b${p}\\b`, 'i').test(description));
  if (!when?.hasHour && !platform) return null;
  const rows = await listScheduled(env.deps, ctxOf(env), {
    from: now,
    to: DateTime.fromJSDate(now).plus({ days: 14 }).toJSDate(),
    statuses: ['scheduled'],
  });
  const wanted = when ? DateTime.fromJSDate(when.instant, { zone }) : null;
  const fits = rows.filter((t) => {
    if (platform && t.platform !== platform) return false;
    if (!wanted) return true;
    const at = DateTime.fromJSDate(t.scheduledAt!, { zone });
    if (when!.hasHour && (at.hour !== wanted.hour || at.minute !== wanted.minute)) return false;
    if (when!.hasDay && !at.hasSame(wanted, 'day')) return false;
    return true;
  });
  return fits.length === 1 ? fits[0]!.id : null;
}

/** The workspace's only post with draft targets, else null. */
async function onlyDraft(env: ToolEnv): Promise<string | null> {
  const page = await listPosts(env.deps, ctxOf(env), { limit: 2, statuses: ['draft'] });
  const posts = (JSON.parse(page.json.toString('utf8')) as { items: Array<{ id: string }> }).items;
  return posts.length === 1 ? posts[0]!.id : null;
}
