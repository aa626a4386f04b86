/**
 * The words of a coaching message: the template (the facts in fixed sentences — what is sent
 * when no model can write, or the model's text failed its check), the prompt the model
 * writes from, and the check every written message passes before it is sent: each number in
 * the text must be one the facts hold, written as a figure the facts give.
 */
import type { DailyFacts } from './facts.js';

const fmt = (n: number) => n.toLocaleString('en-US');
const signed = (n: number) => `${n >= 0 ? '+' : ''}${fmt(n)}`;

/** The template message: the same facts, fixed sentences. */
export function renderTemplate(f: DailyFacts): string {
  const y = f.yesterday;
  const lines: string[] = [];
  lines.push('Good morning!');
  const change = y.engagementsChangePct === null ? '' : ` (${signed(y.engagementsChangePct)}% on the day before)`;
  lines.push(
    `Yesterday (${y.date}): ${fmt(y.posts)} post${y.posts === 1 ? '' : 's'} published, ${fmt(y.engagements)} engagement${y.engagements === 1 ? '' : 's'}${change}${y.followerGrowth === null ? '' : `, followers ${signed(y.followerGrowth)}`}.`,
  );
  lines.push(
    f.streak > 0
      ? `Streak: ${fmt(f.streak)} day${f.streak === 1 ? '' : 's'} in a row with a post.`
      : 'No streak yet: a post today starts one.',
  );
  for (const r of f.reached) lines.push(`Milestone reached: ${fmt(r.value)} on the way to ${r.label}. Well done!`);
  for (const g of f.goals) {
    if (g.current === null) {
      lines.push(`Goal ${g.label}: no figure measured yet.`);
      continue;
    }
    lines.push(
      `Goal ${g.label}: now ${fmt(g.current)}, ${g.progressPct ?? 0}% of the way` +
        (g.probabilityPct === null ? '' : `, ${g.probabilityPct}% likely on time`) +
        (g.nextMilestone ? `; next milestone ${fmt(g.nextMilestone.value)} by ${g.nextMilestone.due}` : '') +
        '.',
    );
  }
  if (f.actions.length) {
    lines.push('Today:');
    f.actions.forEach((a, i) => lines.push(`${i + 1}. ${a.label}.`));
  }
  lines.push(`Insight: ${f.insight.text}`);
  return lines.join('\n');
}

export const COACH_SYSTEM = [
  "You are Herald's success coach. Write the user's short morning message (at most 120 words, plain text).",
  'Say how yesterday went, the streak, where each goal stands, then the actions for today as a numbered list',
  '(one line each, in the order given), then the one insight. Be warm, specific and brief; no hype.',
  'Use ONLY the numbers in FACTS, written exactly as they appear there (1,000 not 1k; 42% not forty-two percent).',
  'Never compute, round or invent a number; if a figure is missing, leave it out. Do not invent actions.',
  'After the message, for each action number listed in draftFor, write one line `DRAFT <number>: <post>`:',
  "a short post ready to publish on that platform, in the user's voice, following the insight; no numbers unless they are in FACTS.",
].join(' ');

/** The facts as the model is shown them (the actions' ids kept out: the user sees labels). */
function shownFacts(f: DailyFacts) {
  return {
    today: f.day,
    yesterday: f.yesterday,
    streakDays: f.streak,
    milestonesReached: f.reached.map(({ goalId: _goalId, ...r }) => r),
    goals: f.goals.map(({ goalId: _goalId, ...g }) => g),
    actions: f.actions.map((a) => a.label),
    insight: f.insight.text,
    /** The actions (1-based, as listed) that are slots: the model drafts the post for each. */
    draftFor: f.actions.flatMap((a, i) => (a.type === 'slot' ? [i + 1] : [])),
  };
}

/** The model's input: the facts as JSON. */
export function promptOf(f: DailyFacts): { system: string; user: string } {
  return { system: COACH_SYSTEM, user: `FACTS:\n${JSON.stringify(shownFacts(f), null, 1)}` };
}

/** Times (18:00), dates (2026-03-01) and numbers (1,000 / 4.2), as tokens. */
const TOKEN = /\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}|\d[\d,]*(?:\.\d+)?/g;
const norm = (t: string) => (/[-:]/.test(t) ? t : String(Number(t.replace(/,/g, ''))));

function collect(value: unknown, into: Set<string>): void {
  if (typeof value === 'number' && Number.isFinite(value)) {
    const n = Math.abs(value);
    into.add(String(n));
    into.add(norm(n.toLocaleString('en-US')));
  } else if (typeof value === 'string') {
    for (const t of value.match(TOKEN) ?? []) into.add(norm(t));
  } else if (Array.isArray(value)) for (const v of value) collect(v, into);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) collect(v, into);
}

export interface NumberCheck {
  ok: boolean;
  /** Numbers in the text the facts do not hold. */
  unknown: string[];
}

/**
 * Every number the text states must be one the facts shown to the model hold — not a digit
 * inside an id the model never saw (a UUID's "4" is no figure). The numbering of the action
 * list (`1.` at the start of a line, up to the number of actions) is not a figure.
 */
export function checkNumbers(text: string, facts: DailyFacts): NumberCheck {
  const allowed = new Set<string>();
  collect(shownFacts(facts), allowed);
  const body = text.replace(/^\s*(\d)[.)]\s/gm, (m, d: string) => (Number(d) <= facts.actions.length ? '' : m));
  const unknown = [...new Set((body.match(TOKEN) ?? []).map(norm))].filter((t) => !allowed.has(t));
  return { ok: unknown.length === 0, unknown };
}

const DRAFT_LINE = /^[ \t]*DRAFT[ \t]+(\d+)[ \t]*:[ \t]*(.+)$/gm;

/**
 * The model's text split into the message and the posts it drafted for the slot actions
 * (`DRAFT <n>: <post>` lines, n the action's number): each draft is kept only when it is for
 * a slot and every number it states is one the facts hold (else that slot stays without text).
 */
export function splitDrafts(text: string, facts: DailyFacts): { message: string; drafts: Map<string, string> } {
  const drafts = new Map<string, string>();
  const message = text
    .replace(DRAFT_LINE, (_, n: string, post: string) => {
      const action = facts.actions[Number(n) - 1];
      const clean = post.trim().slice(0, 2_000);
      if (action?.type === 'slot' && clean && checkNumbers(clean, facts).ok) drafts.set(action.id, clean);
      return '';
    })
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { message, drafts };
}
