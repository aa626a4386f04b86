/**
 * Bytes to text for fetched pages and feeds and for uploaded text files, in the character
 * encoding they are written in. Pages and feeds follow the HTML Standard's encoding sniffing
 * (`encoding-sniffer`): a byte order mark, then the `Content-Type` charset, then a `<meta>`
 * charset or the XML declaration's `encoding`, in the first 1,024 bytes. Uploaded files: a
 * byte order mark, then a declared charset if the caller has one (the multipart parser does
 * not pass a file part's charset on, so uploads usually have none). With nothing declared, bytes
 * that are valid UTF-8 are UTF-8, and anything else goes to `chardet`'s statistical detection
 * (an ISO-8859-1 French text is found as such); what it cannot name is read as windows-1252,
 * the web's default. Decoding is `@exodus/bytes`' WHATWG `TextDecoder` (every WHATWG encoding).
 */
import { analyse } from 'chardet';
import { ResultType, Sniffer } from 'encoding-sniffer/sniffer';
// Not Node's own: Node 20 reads windows-1252 as ISO-8859-1 (0x93 becomes a C1 control, not “).
import { TextDecoder } from '@exodus/bytes/encoding.js';

export type CharsetSource = 'bom' | 'header' | 'meta' | 'detected';

export interface Decoded {
  text: string;
  /** The WHATWG name of the encoding read (`UTF-8`, `windows-1252`, `Shift_JIS`...). */
  encoding: string;
  /** What said so. */
  from: CharsetSource;
}

/** The web's fallback encoding when nothing names one (HTML Standard). */
const FALLBACK = 'windows-1252';
/** Bytes chardet looks at: enough to tell encodings apart, bounded for large pages. */
const DETECT_BYTES = 64 * 1024;

/** The `charset` parameter of a `Content-Type` value, if any. */
export function charsetOf(contentType: string | null | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*("?)([^";\s]+)\1/i.exec(contentType ?? '');
  return m?.[2];
}

function decoderFor(label: string): InstanceType<typeof TextDecoder> | null {
  try {
    // BOMs are handled by the sniffing; the decoder drops a leading one of its own encoding.
    return new TextDecoder(label, { fatal: false });
  } catch {
    return null; // not a WHATWG label
  }
}

const isUtf8 = (bytes: Uint8Array) => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
};

/** Valid UTF-8 is UTF-8; otherwise chardet's best guess that `TextDecoder` knows. */
function detect(bytes: Uint8Array): Decoded {
  if (isUtf8(bytes)) return { text: new TextDecoder('utf-8').decode(bytes), encoding: 'UTF-8', from: 'detected' };
  for (const guess of analyse(bytes.subarray(0, DETECT_BYTES))) {
    // chardet names UTF-32 and a few others TextDecoder does not read; try its next guess.
    // UTF-16 is taken only with a BOM or a declaration: guessed, it turns binary into "text".
    const decoder = decoderFor(guess.name);
    if (decoder && !/^utf-(8|16)/.test(decoder.encoding))
      return { text: decoder.decode(bytes), encoding: guess.name, from: 'detected' };
  }
  return { text: new TextDecoder(FALLBACK).decode(bytes), encoding: FALLBACK, from: 'detected' };
}

const FROM: Partial<Record<ResultType, CharsetSource>> = {
  [ResultType.BOM]: 'bom',
  [ResultType.XML_PREFIX]: 'bom',
  [ResultType.PASSED]: 'header',
  [ResultType.META_TAG]: 'meta',
  [ResultType.XML_ENCODING]: 'meta',
};

/**
 * Decodes declared text. A declaration of UTF-8 that the bytes break (a Latin-1 page served
 * as UTF-8, which is common) goes to detection instead of becoming replacement characters
 * that would make the text look binary.
 */
function decodeDeclared(bytes: Uint8Array, encoding: string, from: CharsetSource): Decoded {
  const decoder = decoderFor(encoding);
  if (!decoder || (decoder.encoding === 'utf-8' && from !== 'bom' && !isUtf8(bytes))) return detect(bytes);
  return { text: decoder.decode(bytes), encoding, from };
}

/** An HTML page or an XML feed: BOM, header charset, `<meta>`/`<?xml encoding?>`, then detection. */
export function decodeMarkup(bytes: Uint8Array, contentType: string | null | undefined): Decoded {
  const declared = charsetOf(contentType);
  const sniffer = new Sniffer(declared ? { transportLayerEncodingLabel: declared } : {});
  sniffer.write(bytes);
  const from = FROM[sniffer.resultType];
  return from ? decodeDeclared(bytes, sniffer.encoding, from) : detect(bytes);
}

const BOMS: Array<[number[], string]> = [
  [[0xef, 0xbb, 0xbf], 'utf-8'],
  [[0xff, 0xfe], 'utf-16le'],
  [[0xfe, 0xff], 'utf-16be'],
];

/** A plain text file (upload): BOM, the declared type's charset, then detection. */
export function decodePlain(bytes: Uint8Array, contentType: string | null | undefined): Decoded {
  const bom = BOMS.find(([mark]) => mark.every((b, i) => bytes[i] === b));
  if (bom) return decodeDeclared(bytes, bom[1], 'bom');
  const declared = charsetOf(contentType);
  return declared ? decodeDeclared(bytes, declared, 'header') : detect(bytes);
}
