/**
 * The click stream's format: the Redis stream clicks wait in between the redirect and the
 * drainer. An entry is either one click (fields `i l t b v p`: id, link id, epoch ms, bot,
 * visitor hash, platform), as the redirect writes it when it has no journal, or a batch of
 * clicks (field `c`: journal lines, one click per line, tab-separated in the same order), as a
 * journal ships them: one `XADD` carries up to `CLICKS_PER_ENTRY` clicks, so Redis, the
 * shipper and the drainer each pay per batch rather than per click.
 */
import type { ClickEvent } from './clicks.js';

/** The Redis stream clicks wait in until drained. */
export const clickStreamKey = (keyPrefix: string) => `${keyPrefix}:links:clicks`;

/** Most clicks one batch entry carries (~50 KiB). */
export const CLICKS_PER_ENTRY = 500;

/** One click as a journal line (and as a line of a batch entry). */
export function clickLine(e: ClickEvent): string {
  return `${e.id}\t${e.linkId}\t${e.at.getTime()}\t${e.bot ? 1 : 0}\t${e.visitor}\t${e.platform ?? ''}\n`;
}

const DIGITS = /^\d+$/;

/** The click a line holds (without its newline), or null for a line that is not one (a torn write). */
export function parseClickLine(line: string): ClickEvent | null {
  const p = line.split('\t');
  if (p.length !== 6 || !p[0] || !p[1] || !DIGITS.test(p[2]!) || !p[4]) return null;
  return {
    id: p[0],
    linkId: p[1],
    at: new Date(Number(p[2])),
    bot: p[3] === '1',
    visitor: p[4],
    platform: p[5] || null,
  };
}

/** A one-click entry's fields back as a click, or null when they are not one. */
function parseClickFields(fields: string[]): ClickEvent | null {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
  const id = m.get('i');
  const linkId = m.get('l');
  const t = Number(m.get('t'));
  const visitor = m.get('v');
  if (!id || !linkId || !visitor || !Number.isFinite(t)) return null;
  return { id, linkId, at: new Date(t), bot: m.get('b') === '1', visitor, platform: m.get('p') || null };
}

/** The clicks of any entry (one click or a batch), and how many of its lines were not clicks. */
export function parseClickEntry(fields: string[]): { clicks: ClickEvent[]; dropped: number } {
  if (fields[0] !== 'c' || fields.length !== 2) {
    const one = parseClickFields(fields);
    return one ? { clicks: [one], dropped: 0 } : { clicks: [], dropped: 1 };
  }
  const clicks: ClickEvent[] = [];
  let dropped = 0;
  for (const line of fields[1]!.split('\n')) {
    if (line === '') continue;
    const e = parseClickLine(line);
    if (e) clicks.push(e);
    else dropped++;
  }
  return { clicks, dropped };
}
