/**
 * Uploaded files as knowledge: which format a file is (by its bytes first, then its name and
 * declared type), and its text — a PDF's text layer (unpdf, pure JS), a CSV product
 * catalogue (kept as CSV; `catalogueChunks` makes one chunk per product row, with its
 * columns), or text and Markdown, read in their own character encoding (`charset.ts`). Each refusal is a typed error naming the reason:
 * empty, binary, a PDF that cannot be read or has no text (a scan), a CSV without rows.
 */
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { HeraldError } from '../core/index.js';
import type { Chunk } from './chunking.js';
import { decodePlain } from './charset.js';
import { checkText } from './input.js';

export interface UploadedFile {
  /** As the client named it; used for the format (by extension) and the default title. */
  fileName: string | undefined;
  /** As the client declared it; a hint only. */
  contentType: string | undefined;
  bytes: Buffer;
}

export type FileFormat = 'pdf' | 'csv' | 'markdown' | 'text';

export interface ReadFile {
  format: FileFormat;
  /** The text stored and ingested: a PDF's pages, the CSV as sent, the text as sent. */
  text: string;
  /** `pages` for PDFs, `rows` and `columns` for catalogues. */
  metadata: Record<string, unknown>;
}

const invalid = (reason: string, message: string) =>
  new HeraldError('knowledge_input_invalid', { message, details: { reason } });

function formatOf(file: UploadedFile): FileFormat {
  if (file.bytes.subarray(0, 5).toString('latin1') === '%PDF-') return 'pdf';
  const ext = /\.([a-z0-9]+)$/i.exec(file.fileName ?? '')?.[1]?.toLowerCase();
  const type = (file.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ext === 'pdf' || type === 'application/pdf')
    throw invalid('not_pdf', 'The file is named or typed as a PDF but is not one');
  if (ext === 'csv' || ext === 'tsv' || type === 'text/csv' || type === 'text/tab-separated-values') return 'csv';
  if (ext === 'md' || ext === 'markdown' || type === 'text/markdown') return 'markdown';
  return 'text';
}

/** The text layer of a PDF, one Markdown section per page. */
async function pdfText(bytes: Buffer): Promise<{ text: string; pages: number }> {
  const { extractText, getDocumentProxy } = await import('unpdf');
  let pages: string[];
  try {
    // verbosity 0: pdf.js warns on stdout about every oddity it repairs.
    const doc = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    try {
      pages = (await extractText(doc, { mergePages: false })).text;
    } finally {
      await doc.destroy().catch(() => undefined);
    }
  } catch (cause) {
    throw new HeraldError('knowledge_input_invalid', {
      message: `The PDF cannot be read: ${(cause as Error).message}`,
      details: { reason: 'not_pdf' },
      cause,
    });
  }
  const text = pages
    .map((p, i) => ({ page: i + 1, body: p.replace(/[ \t]+\n/g, '\n').trim() }))
    .filter((p) => /[\p{L}\p{N}]/u.test(p.body))
    .map((p) => (pages.length > 1 ? `# Page ${p.page}\n\n${p.body}` : p.body))
    .join('\n\n');
  if (!text)
    throw invalid('no_text', 'The PDF has no text layer (a scanned document?); add a PDF with text, or OCR it first');
  return { text, pages: pages.length };
}

interface Catalogue {
  columns: string[];
  rows: Record<string, string>[];
}

function parseCatalogue(csv: string): Catalogue {
  const firstLine = csv.split('\n', 1)[0]!;
  const delimiter = firstLine.split('\t').length > firstLine.split(',').length ? '\t' : ',';
  let records: string[][];
  try {
    records = parse(csv, { delimiter, bom: true, skip_empty_lines: true, relax_column_count: true, trim: true });
  } catch (cause) {
    throw new HeraldError('knowledge_input_invalid', {
      message: `The CSV cannot be read: ${(cause as Error).message}`,
      details: { reason: 'not_csv' },
      cause,
    });
  }
  const [header, ...body] = records;
  const columns = (header ?? []).map((c, i) => c || `column ${i + 1}`);
  const rows = body
    .filter((r) => r.some((v) => v !== ''))
    .map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] ?? ''])));
  if (rows.length === 0) throw invalid('empty', 'The CSV has a header row but no products');
  return { columns, rows };
}

const NAME_COLUMN = /^(name|title|product|product[ _-]?name|item)$/i;

/** One chunk per product row: its name as the heading, then `column: value` lines. */
export function catalogueChunks(csv: string): Chunk[] {
  const { columns, rows } = parseCatalogue(csv);
  const nameColumn = columns.find((c) => NAME_COLUMN.test(c)) ?? columns[0]!;
  const seen = new Set<string>();
  const chunks: Chunk[] = [];
  for (const row of rows) {
    const heading = row[nameColumn] || null;
    const lines = columns.filter((c) => row[c]).map((c) => `${c}: ${row[c]}`);
    const text = heading ? `${heading}\n\n${lines.join('\n')}` : lines.join('\n');
    const hash = createHash('sha256').update(text).digest('hex');
    if (seen.has(hash)) continue;
    seen.add(hash);
    chunks.push({ text, heading, hash, index: chunks.length });
  }
  return chunks;
}

/** Checks a CSV given as text (upload or JSON) and describes it. */
export function checkCatalogue(csv: string, maxBytes: number): { rows: number; columns: string[] } {
  const { columns, rows } = parseCatalogue(checkText(csv, maxBytes));
  return { rows: rows.length, columns };
}

/** Decodes a text file in its own encoding (`charset.ts`), refusing bytes that are not text (`checkText`). */
function decodeFile(file: UploadedFile, maxBytes: number): { text: string; encoding: string } {
  if (file.bytes.length === 0) throw invalid('empty', 'The file is empty');
  const decoded = decodePlain(file.bytes, file.contentType);
  return { text: checkText(decoded.text, maxBytes), encoding: decoded.encoding };
}

/**
 * The format and text of an uploaded file. `maxTextBytes` caps the text kept (a PDF's text
 * is usually far smaller than the file); the file's own size is capped by the upload route.
 */
export async function readUploadedFile(file: UploadedFile, maxTextBytes: number): Promise<ReadFile> {
  if (file.bytes.length === 0) throw invalid('empty', 'The file is empty');
  const format = formatOf(file);
  if (format === 'pdf') {
    const { text, pages } = await pdfText(file.bytes);
    return { format, text: checkText(text, maxTextBytes), metadata: { pages } };
  }
  const { text, encoding } = decodeFile(file, maxTextBytes);
  if (format === 'csv') {
    const { rows, columns } = checkCatalogue(text, maxTextBytes);
    return { format, text, metadata: { rows, columns, charset: encoding } };
  }
  return { format, text, metadata: { charset: encoding } };
}
