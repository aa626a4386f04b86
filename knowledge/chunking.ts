/**
 * Splitting a document into chunks for embedding. Markdown headings start a new section and
 * every chunk carries its heading path ("Voice > Tone"); inside a section, sentences are
 * packed up to `maxChars` and the last sentences of one chunk are repeated at the start of
 * the next (`overlapChars`), so a fact split across a boundary is still found whole. A
 * sentence longer than a chunk is cut at word boundaries. Chunks with the same text (by
 * SHA-256) are kept once.
 */
import { createHash } from 'node:crypto';

export interface ChunkOptions {
  /** Default 1000. */
  maxChars?: number;
  /** Default 200. */
  overlapChars?: number;
  /** Treat `#` lines as headings. Default true. */
  markdown?: boolean;
}

export interface Chunk {
  /** Heading path and body, as stored and searched. */
  text: string;
  heading: string | null;
  /** SHA-256 of `text`, hex. */
  hash: string;
  index: number;
}

export const DEFAULT_CHUNK_MAX_CHARS = 1000;
export const DEFAULT_CHUNK_OVERLAP_CHARS = 200;

const HEADING = /^(#{1,6})\s+(.+?)\s*#*\s*$/;

interface Section {
  heading: string | null;
  body: string;
}

function sections(text: string, markdown: boolean): Section[] {
  if (!markdown) return [{ heading: null, body: text }];
  const out: Section[] = [];
  const path: string[] = [];
  let lines: string[] = [];
  let inFence = false;
  const flush = () => {
    const body = lines.join('\n').trim();
    if (body) out.push({ heading: path.filter(Boolean).join(' > ') || null, body });
    lines = [];
  };
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const m = inFence ? null : HEADING.exec(line);
    if (m) {
      flush();
      const level = m[1]!.length;
      path.length = level - 1;
      path[level - 1] = m[2]!;
    } else lines.push(line);
  }
  flush();
  return out;
}

/** A sentence and what stood before it in the text: a paragraph break, a line break (a list item) or a space. */
interface Part {
  text: string;
  before: '\n\n' | '\n' | ' ';
}

const LIST_ITEM = /^\s*(?:[-*+]|\d+[.)])\s/;

/** Sentences, with paragraph and list-item breaks treated as sentence ends (and kept, for joining). */
function parts(body: string): Part[] {
  const out: Part[] = [];
  for (const para of body.split(/\n\s*\n/)) {
    para.split(/\n(?=\s*(?:[-*+]|\d+[.)])\s)/).forEach((block, b) => {
      block
        .replace(/\s+/g, ' ')
        .trim()
        .split(/(?<=[.!?…])\s+(?=[\p{Lu}\p{N}"'“([])/u)
        .map((t) => t.trim())
        .filter(Boolean)
        .forEach((text, i) => out.push({ text, before: i > 0 ? ' ' : b > 0 || LIST_ITEM.test(block) ? '\n' : '\n\n' }));
    });
  }
  return out;
}

export function sentences(body: string): string[] {
  return parts(body).map((p) => p.text);
}

function cutLong(sentence: string, max: number): string[] {
  if (sentence.length <= max) return [sentence];
  const out: string[] = [];
  let current = '';
  for (const word of sentence.split(' ')) {
    if (current && current.length + 1 + word.length > max) {
      out.push(current);
      current = '';
    }
    // A single "word" longer than a chunk (a URL, base64) is cut hard.
    for (let w = word; w; w = w.slice(max)) {
      if (w.length > max) out.push(w.slice(0, max));
      else current = current ? `${current} ${w}` : w;
      if (w.length <= max) break;
    }
  }
  if (current) out.push(current);
  return out;
}

export function chunkText(text: string, opts: ChunkOptions = {}): Chunk[] {
  const max = opts.maxChars ?? DEFAULT_CHUNK_MAX_CHARS;
  const overlap = Math.min(opts.overlapChars ?? DEFAULT_CHUNK_OVERLAP_CHARS, Math.floor(max / 2));
  const bodies: Array<{ heading: string | null; body: string }> = [];
  for (const section of sections(text.replace(/\r\n?/g, '\n'), opts.markdown ?? true)) {
    const room = Math.max(100, max - (section.heading ? section.heading.length + 2 : 0));
    const pieces = parts(section.body).flatMap((p) =>
      cutLong(p.text, room).map((text, i): Part => ({ text, before: i === 0 ? p.before : ' ' })),
    );
    let current: Part[] = [];
    let size = 0;
    // Paragraphs and list items keep their breaks: "By Sam Lee" and the next paragraph are not one sentence.
    const emit = () =>
      bodies.push({
        heading: section.heading,
        body: current.map((p, i) => (i === 0 ? p.text : p.before + p.text)).join(''),
      });
    for (const part of pieces) {
      const cost = part.text.length + part.before.length;
      if (current.length && size + cost > room) {
        emit();
        // Carry the tail sentences (up to `overlap` characters) into the next chunk.
        const carried: Part[] = [];
        let carriedSize = 0;
        for (let i = current.length - 1; i >= 0; i--) {
          const s = current[i]!;
          const sCost = s.text.length + s.before.length;
          if (carriedSize + sCost > overlap || carriedSize + sCost + cost > room) break;
          carried.unshift(s);
          carriedSize += sCost;
        }
        current = carried;
        size = carriedSize;
      }
      current.push(part);
      size += cost;
    }
    if (current.length) emit();
  }
  const seen = new Set<string>();
  const chunks: Chunk[] = [];
  for (const { heading, body } of bodies) {
    const chunkText = heading ? `${heading}\n\n${body}` : body;
    const hash = createHash('sha256').update(chunkText).digest('hex');
    if (seen.has(hash)) continue;
    seen.add(hash);
    chunks.push({ text: chunkText, heading, hash, index: chunks.length });
  }
  return chunks;
}
