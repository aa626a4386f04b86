/**
 * Text as it should be said, not as it is written: the reply's sentences pass through
 * `spokenText` before text-to-speech. Markdown (emphasis, headings, list markers, code, links)
 * is dropped, a URL is "the link", a time zone is "Paris time", a date and a clock time are
 * said as people say them ("Monday, December 8th at 9 AM"), amounts of money and percentages
 * are read as words. The reply's text events keep the written form; only the voice changes.
 *
 * `spokenConfirmation` makes the short question a confirmation request is asked with ("Schedule
 * it on Mastodon for Monday at 9 AM?"): the exact action, with the post's text, stays in the
 * `confirm_request` event.
 */
import { PLATFORM_NAMES } from '../core/index.js';

const WEEKDAYS: Record<string, string> = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
};
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const MONTH_OF: Record<string, number> = Object.fromEntries(
  MONTHS.map((m, i) => [m.slice(0, 3).toLowerCase(), i] as const),
);

function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}

/** "09:00" → "9 AM", "14:30" → "2:30 PM", "00:00" → "midnight", "12:00" → "noon". */
export function spokenClock(hour: number, minute: number): string {
  if (minute === 0 && hour === 0) return 'midnight';
  if (minute === 0 && hour === 12) return 'noon';
  const h = hour % 12 === 0 ? 12 : hour % 12;
  const m = minute === 0 ? '' : `:${String(minute).padStart(2, '0')}`;
  return `${h}${m} ${hour < 12 ? 'AM' : 'PM'}`;
}

/** "Europe/Paris" → "Paris time", "America/New_York" → "New York time". */
function spokenZone(zone: string): string {
  const city = zone.split('/').at(-1)!.replace(/_/g, ' ');
  return `${city} time`;
}

function spokenDate(year: number, month: number, day: number, weekday?: string): string {
  const thisYear = new Date().getUTCFullYear();
  const date = `${MONTHS[month]} ${ordinal(day)}${year === thisYear ? '' : `, ${year}`}`;
  return weekday ? `${weekday}, ${date}` : date;
}

function money(whole: string, cents: string | undefined, one: string, many: string, cent: string): string {
  const n = Number(whole.replace(/,/g, ''));
  const unit = n === 1 ? one : many;
  const c = cents ? Number(cents) : 0;
  return c ? `${n} ${unit} ${c} ${c === 1 ? cent : `${cent}s`}` : `${n} ${unit}`;
}

const CURRENCIES: Record<string, [string, string, string]> = {
  $: ['dollar', 'dollars', 'cent'],
  '€': ['euro', 'euros', 'cent'],
  '£': ['pound', 'pounds', 'penny'],
};

const ZONE =
  /\b(?:Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific)\/[A-Za-z_]+(?:\/[A-Za-z_]+)?/g;

/** One sentence (or any text) as it should be spoken. */
export function spokenText(text: string): string {
  let t = text;
  // Code fences and inline code: their content, without the marks.
  t = t.replace(/```[a-z]*\n?/gi, '').replace(/`([^`]*)`/g, '$1');
  // Images and links: their text; bare URLs: "the link".
  t = t.replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/\[([^\]]+)\]\([^)]*\)/g, '$1');
  t = t.replace(/\b(?:https?:\/\/|www\.)[^\s)>\]]+/gi, 'the link');
  // Headings, block quotes, list markers at the start of a line.
  t = t.replace(/^[ \t]*(?:#{1,6}[ \t]+|>[ \t]?|[-*+•][ \t]+|\d{1,3}[.)][ \t]+)/gm, '');
  // Emphasis: **bold**, __bold__, *it*, _it_, ~~struck~~.
  t = t.replace(/(\*\*|__|~~)(.+?)\1/g, '$2').replace(/(^|[\s(])[*_]([^*_\n]+)[*_](?=[\s).,;:!?]|$)/g, '$1$2');
  t = t.replace(/[*_]{2,}/g, '');
  // "(Europe/Paris)" and "Europe/Paris": "Paris time".
  t = t.replace(new RegExp(`\\((${ZONE.source})\\)`, 'g'), (_, z: string) => spokenZone(z));
  t = t.replace(ZONE, (z) => spokenZone(z));
  // "Mon, Dec 8, 2026, 09:00" (how Herald shows times) → "Monday, December 8th at 9 AM".
  t = t.replace(
    /\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* (\d{1,2}),? (\d{4}),? (\d{1,2}):(\d{2})\b/g,
    (_, wd: string, mo: string, d: string, y: string, h: string, m: string) =>
      `${spokenDate(Number(y), MONTH_OF[mo.toLowerCase()]!, Number(d), WEEKDAYS[wd.toLowerCase()])} at ${spokenClock(Number(h), Number(m))}`,
  );
  // ISO dates and times: "2026-12-08T09:00:00Z" → "December 8th at 9 AM UTC".
  t = t.replace(
    /\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?\b/g,
    (_, y: string, mo: string, d: string, h?: string, m?: string, z?: string) => {
      const date = spokenDate(Number(y), Number(mo) - 1, Number(d));
      if (h === undefined) return date;
      return `${date} at ${spokenClock(Number(h), Number(m))}${z === 'Z' ? ' UTC' : ''}`;
    },
  );
  // Clock times not already said with AM/PM: "09:00" → "9 AM", "14:30" → "2:30 PM".
  t = t.replace(/\b([01]?\d|2[0-3]):([0-5]\d)\b(?!\s*(?:[ap]\.?m\.?)\b)/gi, (_, h: string, m: string) =>
    spokenClock(Number(h), Number(m)),
  );
  // Money: "$12.50" → "12 dollars 50 cents", "€5" → "5 euros".
  t = t.replace(/([$€£])\s?(\d[\d,]*)(?:\.(\d{2}))?\b/g, (_, sym: string, whole: string, cents?: string) => {
    const [one, many, cent] = CURRENCIES[sym]!;
    return money(whole, cents, one, many, cent);
  });
  t = t.replace(
    /\b(\d[\d,]*)(?:\.(\d{2}))?\s?(USD|EUR|GBP)\b/g,
    (_, whole: string, cents: string | undefined, c: string) => {
      const [one, many, cent] = CURRENCIES[c === 'USD' ? '$' : c === 'EUR' ? '€' : '£']!;
      return money(whole, cents, one, many, cent);
    },
  );
  // Thousands separators (the engine reads "1234" as a number, "1,234" as two), percentages, symbols.
  t = t.replace(/\b(\d{1,3}(?:,\d{3})+)\b/g, (n) => n.replace(/,/g, ''));
  t = t.replace(/(\d)\s?%/g, '$1 percent');
  t = t.replace(/\s&\s/g, ' and ');
  t = t
    .replace(/\be\.g\./gi, 'for example')
    .replace(/\bi\.e\./gi, 'that is')
    .replace(/\bvs\./gi, 'versus');
  t = t.replace(/(^|\s)#([A-Za-z]\w*)/g, '$1hashtag $2');
  t = t.replace(/(^|\s)@([A-Za-z0-9_]+)(?:\.[A-Za-z0-9.-]+)?/g, '$1at $2');
  // Emoji and pictographs are not said.
  t = t.replace(/\p{Extended_Pictographic}\uFE0F?/gu, '');
  return t.replace(/\s+/g, ' ').trim();
}

interface ActionLike {
  summary?: string | undefined;
  details?: unknown;
}

function list(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)!}`;
}

/** The local calendar day of `instant` in `zone` (YYYY-MM-DD). */
function dayIn(instant: Date, zone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    instant,
  );
}

/** "today at 9 AM", "tomorrow at noon", "Monday at 9 AM" (within a week), else "December 8th at 9 AM". */
function spokenWhen(iso: string, zone: string, now: Date): string | null {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return null;
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      weekday: 'long',
      hour: 'numeric',
      minute: 'numeric',
      hourCycle: 'h23',
    }).formatToParts(at);
  } catch {
    return null;
  }
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const clock = spokenClock(Number(get('hour')), Number(get('minute')));
  const days = Math.round((Date.parse(dayIn(at, zone)) - Date.parse(dayIn(now, zone))) / 86_400_000);
  if (days === 0) return `today at ${clock}`;
  if (days === 1) return `tomorrow at ${clock}`;
  if (days > 1 && days < 7) return `${get('weekday')} at ${clock}`;
  const [y, m, d] = dayIn(at, zone).split('-').map(Number) as [number, number, number];
  return `${spokenDate(y, m - 1, d)} at ${clock}`;
}

/**
 * A short question for a confirmation request: the verb, the platforms and when, without the
 * post's text ("Schedule it on Mastodon for Monday at 9 AM?"). Actions without that shape are
 * asked with their summary, long quotes said as "it" and parentheses left out.
 */
export function spokenConfirmation(action: ActionLike | undefined, now = new Date()): string {
  const summary = (action?.summary ?? '').trim();
  const details = (action?.details ?? {}) as {
    at?: unknown;
    atLocal?: unknown;
    targets?: Array<{ platform?: unknown }>;
  };
  const verb = /^[A-Z][a-z]+/.exec(summary)?.[0];
  const platforms = Array.isArray(details.targets)
    ? [...new Set(details.targets.map((t) => (typeof t.platform === 'string' ? t.platform : '')).filter(Boolean))]
    : [];
  if (verb && platforms.length > 0) {
    const zone = typeof details.atLocal === 'string' ? /\(([^()]+)\)\s*$/.exec(details.atLocal)?.[1] : undefined;
    const when = typeof details.at === 'string' && zone ? spokenWhen(details.at, zone, now) : null;
    const on = list(platforms.map((p) => PLATFORM_NAMES[p] ?? p));
    return `${verb} it on ${on}${when ? ` for ${when}` : ''}?`;
  }
  if (!summary) return 'Shall I go ahead?';
  const short = summary
    // A quote of more than a few words (a post's text) is "it"; the text event has it whole.
    .replace(/[“"]([^”"]*)[”"]/g, (q, inner: string) => (inner.split(/\s+/).length > 4 ? 'it' : q))
    .replace(/\s*\([^()]*\)/g, '')
    .replace(/[:;]\s*it\b/g, '')
    .replace(/[.:;,\s]+$/, '');
  return `${spokenText(short)}?`;
}
