/**
 * Main-content extraction from HTML, without a DOM: scripts, styles, navigation, headers,
 * footers, asides and forms are dropped, `<article>` or `<main>` is preferred when the page
 * has one, headings become Markdown headings (so chunking can respect them), blocks become
 * paragraphs and entities are decoded. A heuristic for ordinary pages, not a browser.
 */

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  mdash: '—',
  ndash: '–',
  hellip: '…',
  rsquo: '’',
  lsquo: '‘',
  rdquo: '”',
  ldquo: '“',
  copy: '©',
};

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

const DROPPED = [
  'script',
  'style',
  'noscript',
  'template',
  'svg',
  'nav',
  'header',
  'footer',
  'aside',
  'form',
  'iframe',
];

/** The page's title and main text (Markdown-ish: headings as `#`, blocks as paragraphs). */
export function extractMainContent(html: string): { title: string | null; text: string } {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1];
  let body = html.replace(/<!--[\s\S]*?-->/g, '');
  for (const tag of DROPPED) body = body.replace(new RegExp(`<${tag}\\b[\\s\\S]*?<\\/${tag}\\s*>`, 'gi'), ' ');
  // Prefer the page's own statement of where its content is.
  const main =
    [...body.matchAll(/<article\b[^>]*>([\s\S]*?)<\/article\s*>/gi)].map((m) => m[1]!).join('\n\n') ||
    /<main\b[^>]*>([\s\S]*?)<\/main\s*>/i.exec(body)?.[1] ||
    /<body\b[^>]*>([\s\S]*?)(?:<\/body\s*>|$)/i.exec(body)?.[1] ||
    body;
  const text = main
    .replace(/<h([1-6])\b[^>]*>([\s\S]*?)<\/h\1\s*>/gi, (_m, level: string, inner: string) => {
      const heading = inner
        .replace(/<[^>]+>/g, '')
        .replace(/\s+/g, ' ')
        .trim();
      return heading ? `\n\n${'#'.repeat(Number(level))} ${heading}\n\n` : '\n\n';
    })
    .replace(/<li\b[^>]*>/gi, '\n- ')
    .replace(/<(br|hr)\b[^>]*>/gi, '\n')
    .replace(/<\/?(p|div|section|ul|ol|table|tr|blockquote|pre|dl|dd|dt|figure|figcaption)\b[^>]*>/gi, '\n\n')
    .replace(/<[^>]+>/g, ' ');
  const cleaned = decodeEntities(text)
    .split('\n')
    .map((l) =>
      l
        .replace(/[ \t\u00a0]+/g, ' ')
        // "<b>cone 12</b>." leaves a space where the tag was.
        .replace(/ ([.,;:!?])(?=\s|$)/g, '$1')
        .trim(),
    )
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { title: title ? decodeEntities(title.replace(/\s+/g, ' ').trim()) || null : null, text: cleaned };
}
