/**
 * The structure of a post that worked — its hook, format, length and call to action — read
 * from its text by rules, not by a model: the text is outside text, so it is measured, never
 * followed. {@link skeletonFor} writes a new post with the same structure about the user's own
 * topic; drafting then writes it in the brand's voice.
 */

export type HookKind = 'question' | 'number' | 'how_to' | 'story' | 'bold_claim' | 'quote' | 'statement';
export type PostFormat = 'one_liner' | 'short' | 'list' | 'thread' | 'paragraphs';
export type CtaKind = 'question' | 'follow' | 'share' | 'reply' | 'link' | null;

export interface PostStructure {
  hook: { kind: HookKind; words: number };
  format: PostFormat;
  length: { chars: number; words: number; lines: number };
  cta: CtaKind;
  hashtags: number;
  links: number;
  emoji: boolean;
  media: number;
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
const NUMBER_WORDS = /^(?:one|two|three|four|five|six|seven|eight|nine|ten|a few|top)\b/i;
const BULLET = /^\s*(?:[-•*▪→✅👉]|\d{1,2}[.)/]|[a-z][.)])\s+/iu;

function firstSentence(text: string): string {
  const line = text.split('\n').find((l) => l.trim()) ?? '';
  const m = /^.*?[.?!…](?=\s|$)/u.exec(line.trim());
  return (m ? m[0] : line).trim();
}

export function hookKind(first: string): HookKind {
  const s = first.trim();
  if (/^["“«']/.test(s)) return 'quote';
  // A list promised up front ("5 lessons…") is the hook even when the sentence asks something.
  if (/^\d/.test(s) || NUMBER_WORDS.test(s)) return 'number';
  if (/^how (?:to|i|we|you)\b/i.test(s)) return 'how_to';
  if (/\?$/.test(s)) return 'question';
  if (/^(?:i|we|my|our|yesterday|today|last (?:week|year|month|night)|when i|years ago)\b/i.test(s)) return 'story';
  if (/\b(?:never|always|stop|nobody|everyone|unpopular opinion|hot take|the truth|myth|wrong)\b/i.test(s))
    return 'bold_claim';
  return 'statement';
}

export function ctaKind(text: string): CtaKind {
  const lines = text.split('\n').filter((l) => l.trim());
  const last = (lines[lines.length - 1] ?? '').trim();
  const tail = lines.slice(-2).join(' ').toLowerCase();
  if (/\b(?:follow (?:me|us|for)|hit follow)\b/.test(tail)) return 'follow';
  if (/\b(?:share|repost|retweet|boost|pass (?:it|this) on)\b/.test(tail)) return 'share';
  if (/\b(?:reply|comment|tell me|let me know|drop (?:a|your))\b/.test(tail)) return 'reply';
  if (/\b(?:link in (?:bio|comments?)|read more|sign up|subscribe|newsletter|full (?:post|story))\b/.test(tail))
    return 'link';
  if (/\?\s*$/.test(last) && lines.length > 1) return 'question';
  return null;
}

/** Measures a post's text (and its thread's further parts, media count). */
export function structureOf(text: string, opts: { threadParts?: number; media?: number } = {}): PostStructure {
  const t = text.replace(/\r\n/g, '\n').trim();
  const lines = t.split('\n').filter((l) => l.trim());
  const first = firstSentence(t);
  const bullets = lines.filter((l) => BULLET.test(l)).length;
  const paragraphs = t.split(/\n\s*\n/).filter((p) => p.trim()).length;
  const chars = [...t].length;
  const format: PostFormat =
    (opts.threadParts ?? 0) > 0 || /(?:^|\s)(?:🧵|\d{1,2}\/\d{1,2})(?:\s|$)/u.test(t)
      ? 'thread'
      : bullets >= 2
        ? 'list'
        : lines.length <= 1 && chars <= 120
          ? 'one_liner'
          : paragraphs >= 3
            ? 'paragraphs'
            : 'short';
  return {
    hook: { kind: hookKind(first), words: words(first) },
    format,
    length: { chars, words: words(t), lines: lines.length },
    cta: ctaKind(t),
    hashtags: (t.match(/(?:^|\s)#[\p{L}\p{N}_]+/gu) ?? []).length,
    links: (t.match(/https?:\/\/\S+/g) ?? []).length,
    emoji: /\p{Extended_Pictographic}/u.test(t),
    media: opts.media ?? 0,
  };
}

const HOOKS: Record<HookKind, (topic: string) => string> = {
  question: (t) => `What is the one thing about ${t} nobody tells you?`,
  number: (t) => `3 things I learned about ${t}:`,
  how_to: (t) => `How to get more out of ${t}:`,
  story: (t) => `Last week ${t} taught me something.`,
  bold_claim: (t) => `Unpopular opinion: ${t} is simpler than it looks.`,
  quote: (t) => `"${t[0]!.toUpperCase()}${t.slice(1)} is a habit, not a talent."`,
  statement: (t) => `${t[0]!.toUpperCase()}${t.slice(1)}, in one idea:`,
};

const BODIES: Record<PostFormat, (topic: string) => string> = {
  one_liner: () => '',
  short: (t) => `One point about ${t} that changed how we work.`,
  list: () => '1. …\n2. …\n3. …',
  thread: (t) => `A short thread on ${t} 🧵`,
  paragraphs: (t) => `Where we started with ${t}.\n\nWhat changed.\n\nWhat we would do again.`,
};

const CTAS: Record<Exclude<CtaKind, null>, (topic: string) => string> = {
  question: () => 'What would you add?',
  follow: (t) => `Follow for more on ${t}.`,
  share: () => 'Share it with someone who needs it.',
  reply: () => 'Tell me in the replies.',
  link: () => 'More in the link in the comments.',
};

/** A new post about `topic` built like the measured one: same hook kind, format and call to action. */
export function skeletonFor(s: PostStructure, topic: string): string {
  const t = topic.trim();
  return [HOOKS[s.hook.kind](t), BODIES[s.format](t), s.cta ? CTAS[s.cta](t) : ''].filter(Boolean).join('\n\n');
}
