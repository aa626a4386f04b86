/**
 * fast-check generators for the property-based REST fuzz (`fuzz.test.ts`): hostile values
 * (deep nesting, NUL, unpaired surrogates, extreme dates and numbers), bodies built from
 * them, odd content types and query strings. Shrinking turns a failure into the smallest
 * request that still fails.
 */
import fc from 'fast-check';

/** `{"a":{"a":...}}` or `[[...]]` nested `depth` levels. */
export function nested(depth: number, leaf: unknown = 1, array = false): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = array ? [v] : { a: v };
  return v;
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

export const hostileString = fc.oneof(
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '\udfff', 'x\ud83dy', '%00', '', ' ', 'null', '🚀'.repeat(300)),
  fc.tuple(fc.string({ maxLength: 20 }), loneSurrogate, fc.string({ maxLength: 20 })).map(([a, s, b]) => a + s + b),
  fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([a, b]) => `${a}\u0000${b}`),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ maxLength: 5000 }),
);

export const extremeDate = fc.oneof(
  fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '-000001-01-01T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '+010000-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '1899-12-31T23:59:59Z',
    '1970-01-01T00:00:00Z',
    '2026-02-30T10:00',
    '2026-03-29T02:30',
    '2026-13-01T00:00',
  ),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);

export const extremeNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1e308, -1e308, 2 ** 53 + 1, Number.MIN_VALUE, 2 ** 31, -(2 ** 31) - 1),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

export const deepValue = fc
  .tuple(fc.integer({ min: 20, max: 1_500 }), fc.boolean())
  .map(([depth, array]) => nested(depth, 'leaf', array));

/** Any value a hostile client might put in a JSON field. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 2, arbitrary: extremeDate },
  { weight: 2, arbitrary: extremeNumber },
  { weight: 2, arbitrary: deepValue },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  {
    weight: 1,
    arbitrary: fc.dictionary(hostileString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 400, max: 1_200 })
      .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))),
  },
);

export const FIELDS = [
  'content',
  'at',
  'from',
  'to',
  'draft',
  'publishNow',
  'targets',
  'threadParts',
  'options',
  'metadata',
  'media',
  'altText',
  'tags',
  'comment',
  'role',
  'email',
  'password',
  'displayName',
  'name',
  'title',
  'text',
  'scopes',
  'expiresAt',
  'scheduledAt',
  'timeZone',
  'requireApproval',
] as const;

/** A body: a plausible one with hostile values in some fields, a hostile value alone, or raw text. */
export function bodyArbitrary(ids: { accountId: string }) {
  const plausible = fc
    .dictionary(fc.constantFrom(...FIELDS), hostileValue, { minKeys: 1, maxKeys: 4 })
    .map((fields) => ({
      content: 'hello',
      draft: true,
      targets: [{ socialAccountId: ids.accountId, ...pick(fields, ['content', 'threadParts', 'options', 'media']) }],
      ...fields,
    }));
  return fc.oneof(
    { weight: 4, arbitrary: plausible.map((b) => JSON.stringify(b)) },
    { weight: 2, arbitrary: hostileValue.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.constantFrom('{', '{"a":', '[1,2', '\u0000', '{"__proto__":{"polluted":true}}') },
  );
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => keys.includes(k)));
}

export const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'text/plain',
  'text/csv',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
);

/** `?name=value` with a hostile value (encoded as a client would, lone surrogates as raw bytes). */
export const queryString = fc
  .tuple(
    fc.constantFrom('limit', 'cursor', 'status', 'from', 'to', 'zone', 'before', 'q', 'docType', 'x'),
    fc.oneof(hostileString, extremeDate, extremeNumber.map(String)),
  )
  .map(([name, value]) => `?${name}=${encode(String(value))}`);

export function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  minLength?: number;
  minimum?: number;
  minItems?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  additionalProperties?: unknown;
};

/** A value the schema (from the OpenAPI document) accepts, as far as a schema can say (required fields only). */
export function sampleOf(schema: JsonSchema | undefined, ids: { uuid: string }): unknown {
  if (!schema) return null;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const alt = schema.anyOf ?? schema.oneOf ?? schema.allOf;
  if (alt) return sampleOf(alt.find((s) => s.type !== 'null') ?? alt[0], ids);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      // Required properties only: optional ones often exclude each other (`at` | `draft` | `publishNow`).
      for (const [key, prop] of Object.entries(schema.properties ?? {}))
        if (schema.required?.includes(key)) out[key] = sampleOf(prop, ids);
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => sampleOf(schema.items, ids));
    case 'string':
      if (schema.format === 'uuid') return ids.uuid;
      if (schema.format === 'date-time') return '2027-01-04T09:00:00Z';
      if (schema.format === 'email') return 'someone@example.com';
      return 'x'.repeat(Math.max(schema.minLength ?? 0, 12));
    case 'integer':
    case 'number':
      return Math.max(schema.minimum ?? 1, 1);
    case 'boolean':
      return true;
    default:
      return {};
  }
}

/** Paths (key lists) of every string, number and object leaf in a sample: where a hostile value goes. */
export function leafPaths(value: unknown, path: string[] = []): string[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leafPaths(v, [...path, String(i)]));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.length === 0 ? [path] : entries.flatMap(([k, v]) => leafPaths(v, [...path, k]));
  }
  return [path];
}

/** `value` with the leaf at `path` replaced (a copy). */
export function replaceAt(value: unknown, path: string[], leaf: unknown): unknown {
  if (path.length === 0) return leaf;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string, unknown>;
  copy[path[0]!] = replaceAt(copy[path[0]!], path.slice(1), leaf);
  return copy;
}
