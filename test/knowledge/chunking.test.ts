/**
 * Chunking, the lexical embedder and HTML extraction: the pure parts of ingestion.
 */
import { describe, expect, it } from 'vitest';
import { chunkText, extractMainContent, LEXICAL_DIMENSION, LexicalEmbedder } from '../../knowledge/index.js';

const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('chunking', () => {
  it('starts a chunk at each heading and carries the heading path', () => {
    const chunks = chunkText(
      '# Guide\n\nIntro line.\n\n## Voice\n\nWarm and plain.\n\n### Emoji\n\nSparingly.\n\n## Visuals\n\nBlue.',
    );
    expect(chunks.map((c) => c.heading)).toEqual([
      'Guide',
      'Guide > Voice',
      'Guide > Voice > Emoji',
      'Guide > Visuals',
    ]);
    expect(chunks[1]!.text).toBe('Guide > Voice\n\nWarm and plain.');
  });

  it('does not treat # inside a code fence as a heading', () => {
    const chunks = chunkText('# Setup\n\n```sh\n# install\nnpm i\n```\n\nDone.');
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.text).toContain('# install');
  });

  it('packs whole sentences up to the limit and repeats the tail sentence in the next chunk', () => {
    const sentences = Array.from({ length: 12 }, (_, i) => `Sentence number ${i} says something useful here.`);
    const chunks = chunkText(sentences.join(' '), { maxChars: 200, overlapChars: 60 });
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) {
      expect(c.text.length).toBeLessThanOrEqual(200);
      // Every chunk starts and ends on a sentence boundary.
      expect(c.text).toMatch(/^Sentence number \d+ .*useful here\.$/);
    }
    for (let i = 1; i < chunks.length; i++) {
      const lastOfPrev = chunks[i - 1]!.text.split(/(?<=\.) /).at(-1)!;
      expect(chunks[i]!.text.startsWith(lastOfPrev)).toBe(true);
    }
    // Every sentence is somewhere.
    for (const s of sentences) expect(chunks.some((c) => c.text.includes(s))).toBe(true);
  });

  it('cuts a sentence longer than a chunk at word boundaries, and a huge word hard', () => {
    const long = `${'word '.repeat(100)}${'x'.repeat(450)}`;
    const chunks = chunkText(long, { maxChars: 200, overlapChars: 0, markdown: false });
    expect(chunks.every((c) => c.text.length <= 200)).toBe(true);
    expect(
      chunks
        .map((c) => c.text)
        .join('')
        .replace(/ /g, ''),
    ).toContain('x'.repeat(200));
  });

  it('keeps identical chunks once, by content hash', () => {
    const chunks = chunkText('# A\n\nSame text.\n\n# A\n\nSame text.\n\n# B\n\nSame text.');
    expect(chunks.map((c) => c.text)).toEqual(['A\n\nSame text.', 'B\n\nSame text.']);
    expect(new Set(chunks.map((c) => c.hash)).size).toBe(2);
  });
});

describe('lexical embedder', () => {
  it('gives unit vectors of a fixed size, closer for texts that share words and word pieces', async () => {
    const [mug, mugs, tax] = await new LexicalEmbedder().embed([
      'handmade ceramic mug in cobalt blue',
      'ceramic mugs, handmade, cobalt',
      'quarterly tax filing deadline',
    ]);
    expect(mug).toHaveLength(LEXICAL_DIMENSION);
    expect(Math.hypot(...mug!)).toBeCloseTo(1, 6);
    expect(cos(mug!, mugs!)).toBeGreaterThan(0.5);
    expect(cos(mug!, tax!)).toBeLessThan(0.2);
    // It is lexical: a synonym with no shared letters is not "close".
    const [cheap, inexpensive] = await new LexicalEmbedder().embed(['cheap', 'inexpensive']);
    expect(cos(cheap!, inexpensive!)).toBeLessThan(0.3);
  });
});

describe('HTML main-content extraction', () => {
  it('prefers <main>, keeps headings as Markdown, drops scripts and chrome, decodes entities', () => {
    const { title, text } = extractMainContent(
      '<html><head><title>T &amp; C</title><style>p{}</style></head><body><nav>menu</nav>' +
        '<main><h2>Kiln</h2><p>Cone&nbsp;10 &#8212; hot.</p><ul><li>one</li><li>two</li></ul></main>' +
        '<aside>ad</aside><footer>foot</footer></body></html>',
    );
    expect(title).toBe('T & C');
    expect(text).toBe('## Kiln\n\nCone 10 — hot.\n\n- one\n- two');
  });
});
