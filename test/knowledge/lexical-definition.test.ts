/**
 * The lexical embedder's vectors are stored (Chroma, `lexical-v2`): computing them faster must
 * not change one bit. `lexicalVectorInto` caches each word's features and buckets (and the
 * bigrams it starts); this checks it against the definition written out plainly — every feature
 * string built and hashed for every occurrence — over texts with repeated words, repeated
 * bigrams, more distinct words than the cache keeps (so words are evicted and met again) and
 * words followed by more distinct words than a word keeps bigrams for.
 */
import { describe, expect, it } from 'vitest';
import { LEXICAL_DIMENSION, lexicalVector, words } from '../../knowledge/embedders.js';
import { xorshift } from '../helpers/xorshift.js';

/** lexical-v2 as defined: FNV-1a + MurmurHash3 mixer buckets over w:/b:/c: features. */
function bucket(feature: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < feature.length; i++) h = Math.imul(h ^ feature.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (((h >>> 0) % LEXICAL_DIMENSION) + 1) * (h < 0 ? -1 : 1);
}
function definition(text: string): number[] {
  const v = new Float64Array(LEXICAL_DIMENSION);
  const counts = new Map<string, number>();
  const add = (f: string, w: number) => counts.set(f, (counts.get(f) ?? 0) + w);
  const ws = words(text);
  ws.forEach((w, i) => {
    add(`w:${w}`, 1);
    if (i > 0) add(`b:${ws[i - 1]} ${w}`, 0.5);
    const padded = `^${w}$`;
    for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, 0.3);
  });
  const touched = new Set<number>();
  for (const [f, c] of counts) {
    const b = bucket(f);
    const at = Math.abs(b) - 1;
    v[at]! += Math.sign(b) * Math.log1p(c);
    touched.add(at);
  }
  let sq = 0;
  for (const i of [...touched].sort((a, b) => a - b)) sq += v[i]! * v[i]!;
  const norm = Math.sqrt(sq);
  if (norm === 0) {
    const unit = Array.from({ length: LEXICAL_DIMENSION }, () => 0);
    unit[0] = 1;
    return unit;
  }
  return Array.from(v, (x) => x / norm);
}

function* texts(n: number, vocabulary: string[], seed: number) {
  const rnd = xorshift(seed);
  for (let i = 0; i < n; i++) {
    const len = Math.floor(rnd() * 40);
    yield Array.from({ length: len }, () => vocabulary[Math.floor(rnd() * vocabulary.length)]!).join(' ');
  }
}

const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

describe('lexical-v2 vectors are the definition, bit for bit', () => {
  it('on a small vocabulary (every word and most bigrams cached), with accents, digits and repeats', () => {
    const vocabulary = 'espresso espresso crema café naïve ÉCLAIR über-fast 42 x2 a I the and latte latte art'.split(
      ' ',
    );
    const all = [...texts(3_000, vocabulary, 88172645), '', '!!!', 'a', 'latte latte latte latte'];
    for (const t of all) expect(same(lexicalVector(t), definition(t)), t).toBe(true);
  });

  it('with more distinct words than the cache keeps, and words followed by more words than it keeps bigrams for', () => {
    // 30,000 words: three times the cache, so words are evicted and computed again.
    const vocabulary = Array.from({ length: 30_000 }, (_, i) => `w${i.toString(36)}z`);
    // "hub" is followed by hundreds of different words.
    const hub = [...texts(400, vocabulary, 2463534242)].map((t) => `hub ${t.replaceAll(' ', ' hub ')}`);
    let n = 0;
    for (const t of [...texts(3_000, vocabulary, 123456789), ...hub, ...texts(3_000, vocabulary, 123456789)]) {
      expect(same(lexicalVector(t), definition(t)), t).toBe(true);
      n++;
    }
    expect(n).toBe(6_400);
  });

  it('with words longer than the cache keeps (unspaced scripts, hex) and texts with thousands of features', () => {
    const long = (i: number) => `${'ab'.repeat(16 + (i % 20))}${i}`; // 33 to 72 characters
    const thai = 'ภาษาไทยไม่มีการเว้นวรรคระหว่างคำในประโยคเลยทำให้คำยาวมาก';
    const vocabulary = [...Array.from({ length: 50 }, (_, i) => long(i)), thai, 'espresso', 'latte', 'a1b2c3'];
    const huge = [...texts(300, vocabulary, 7)].join(' ');
    for (const t of [
      ...texts(500, vocabulary, 99),
      huge,
      thai,
      `${thai} ${thai} espresso`,
      ...texts(200, vocabulary, 5),
    ])
      expect(same(lexicalVector(t), definition(t)), t.slice(0, 80)).toBe(true);
    expect(huge.length).toBeGreaterThan(100_000);
  });
});
