/**
 * The terms an item mentions: its hashtags and the words of its title, lower-cased, short
 * and common words left out. Rising detection counts items per term; relevance matches the
 * niche's keywords against them.
 */
const STOP = new Set(
  'the and for are but not you all any can had her was one our out has have its new now how who why what when with this that from they will your about into more than them then there these their just like over also some only very been were would could should after before while which where here said says http https www com'.split(
    ' ',
  ),
);

export function termsOf(title: string, tags: string[]): string[] {
  const words = title.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}'-]*[\p{L}\p{N}]/gu) ?? [];
  const out = new Set<string>();
  for (const t of tags) out.add(t.toLowerCase().replace(/^#/, ''));
  for (const w of words) if (w.length >= 3 && !STOP.has(w) && !/^\d+$/.test(w)) out.add(w);
  return [...out].slice(0, 60);
}

/** Whether an item with these terms has every one of a keyword's terms (`termsOf(keyword, [])`). */
export function matchesTerms(terms: Set<string>, keywordTerms: string[]): boolean {
  return keywordTerms.length > 0 && keywordTerms.every((w) => terms.has(w));
}

/** Whether an item with these terms matches a keyword (every word of a multi-word keyword). */
export function matchesKeyword(terms: Set<string>, keyword: string): boolean {
  return matchesTerms(terms, termsOf(keyword, []));
}
