/**
 * Trend relevance with the built-in lexical embedder reads each item's vector from one reused
 * buffer (knowledge/embedders.ts `lexicalVectorInto`) instead of the embedder's arrays: the
 * numbers must be the very ones the embedder gives, so scores, nearest keywords and
 * similarities are identical to scoring through any other embedder with the same vectors.
 * (The embedder's `embed` is itself built on `lexicalVectorInto`, so the first test checks the
 * buffer's reuse and clearing; test/knowledge/lexical-definition.test.ts checks the numbers
 * against the definition written out plainly.)
 */
import { describe, expect, it } from 'vitest';
import { LEXICAL_DIMENSION, LexicalEmbedder, lexicalVectorInto, type Embedder } from '../../knowledge/index.js';
import { scoreRelevance } from '../../tools/trends/index.js';
import { xorshift } from '../helpers/xorshift.js';

const WORDS =
  'espresso ristretto crema grinder latte art cold brew barista roast beans pour over kettle café naïve ÉCLAIR 42 x2 über-fast the and election weather'.split(
    ' ',
  );
function* texts(n: number) {
  const rnd = xorshift(88172645);
  for (let i = 0; i < n; i++) {
    const len = Math.floor(rnd() * 12);
    yield Array.from({ length: len }, () => WORDS[Math.floor(rnd() * WORDS.length)]!).join(rnd() < 0.2 ? '  ' : ' ');
  }
}

/** The lexical embedder's vectors through the general path (not recognised as the lexical one). */
const general = (inner: Embedder): Embedder => ({
  model: inner.model,
  dimension: () => inner.dimension(),
  embed: (t) => inner.embed(t),
});

describe('lexical relevance without per-item vectors', () => {
  it('writes exactly the numbers lexicalVector gives, and leaves the buffer clean after clearing what it set', async () => {
    const lexical = new LexicalEmbedder();
    const buffer = new Float64Array(LEXICAL_DIMENSION);
    const all = [...texts(2_000), '', '!!!'];
    const vectors = await lexical.embed(all);
    all.forEach((text, n) => {
      const set = lexicalVectorInto(text, buffer);
      const dense = vectors[n]!;
      expect(Array.from(buffer).every((x, i) => Object.is(x, dense[i]))).toBe(true);
      expect(set).toEqual([...set].sort((a, b) => a - b));
      expect(dense.every((x, i) => x === 0 || set.includes(i))).toBe(true);
      for (const i of set) buffer[i] = 0;
      expect(buffer.every((x) => x === 0)).toBe(true);
    });
  });

  it('scores a batch exactly as the general path does with the same vectors', async () => {
    const items = [...texts(1_500)].map((title, n) => ({ title, tags: n % 7 === 0 ? ['latte'] : [] }));
    const keywords = ['espresso', 'cold brew', 'latte art'];
    const fast = await scoreRelevance(new LexicalEmbedder(), keywords, items);
    const slow = await scoreRelevance(general(new LexicalEmbedder()), keywords, items);
    expect(fast).toEqual(slow);
    expect(fast.some((r) => r!.why.similarity! > 0.5)).toBe(true);
    expect(fast.every((r) => r!.why.embedder === 'lexical-v2')).toBe(true);
  });
});
