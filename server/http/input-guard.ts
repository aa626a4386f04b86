/**
 * Input limits every request passes before any route sees it, whatever its schema says:
 * text that PostgreSQL cannot store (NUL, unpaired UTF-16 surrogates) and JSON nested deeper
 * than anything Herald reads. Embedded PGlite parses `jsonb` recursively without a working
 * stack check: one value nested ~1,000 levels corrupted its memory for every tenant, so
 * depth is bounded here, before anything reaches a query. Free-form objects (`metadata`,
 * `options`) get a tighter bound of their own (`FreeJsonObject`). Limits: docs/api.md.
 */
import { z } from 'zod';

/** The limits, as documented in docs/api.md ("Input limits"). */
export const INPUT_LIMITS = Object.freeze({
  /** Nesting of any JSON body, query or WebSocket message (objects and arrays). */
  maxDepth: 32,
  /** Values (object entries and array items, counted at every level) in one JSON body. */
  maxValues: 20_000,
  /** A free-form object field (`metadata`, a target's `options`): levels, keys in all, bytes as JSON. */
  freeForm: { maxDepth: 8, maxKeys: 500, maxBytes: 16 * 1024 },
  /** Earliest and latest instant a request may name (PostgreSQL has no year 0; JS none past 275760). */
  minYear: 1900,
  maxYear: 9999,
});

export interface InputIssue {
  /** `targets.0.content`, dotted as in schema errors; `""` for the whole value. */
  field: string;
  message: string;
}

/** In `u` mode a pair is one code point, so this matches unpaired surrogates only. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Why this text cannot be stored, or undefined when it can. */
export function unsafeText(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain NUL (U+0000) characters';
  if (LONE_SURROGATE.test(s)) return 'must not contain unpaired UTF-16 surrogates';
  return undefined;
}

/**
 * The first problem in a parsed JSON value (or query / params object): unsafe text in a key or
 * a string, nesting deeper than `maxDepth`, or more than `maxValues` values. Iterative, so a
 * hostile value cannot overflow the stack here.
 */
export function inspectJson(
  value: unknown,
  limits: { maxDepth: number; maxValues: number } = INPUT_LIMITS,
): InputIssue | undefined {
  if (limits.maxDepth > 0 && isFlat(value)) return inspectFlat(value, limits.maxValues);
  const stack: Array<{ v: unknown; path: string[] }> = [{ v: value, path: [] }];
  let values = 0;
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      const why = unsafeText(v);
      if (why) return { field: path.join('.'), message: why };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (path.length >= limits.maxDepth)
      return { field: path.join('.'), message: `is nested deeper than ${limits.maxDepth} levels` };
    const entries: Array<[string, unknown]> = Array.isArray(v)
      ? v.map((item, i) => [String(i), item])
      : Object.entries(v as Record<string, unknown>);
    values += entries.length;
    if (values > limits.maxValues)
      return { field: path.join('.'), message: `holds more than ${limits.maxValues} values in all` };
    for (const [key, item] of entries) {
      const why = Array.isArray(v) ? undefined : unsafeText(key);
      if (why) return { field: [...path, key].join('.'), message: `has a key that ${why}` };
      stack.push({ v: item, path: [...path, key] });
    }
  }
  return undefined;
}

/** An object (not an array) whose values are all scalars: what path parameters and most queries are. */
function isFlat(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    if (typeof v === 'object' && v !== null) return false;
  }
  return true;
}

/**
 * `inspectJson` for a flat object, without the walk's allocations (it runs on every request's
 * parameters and query): the same checks, reported in the same order (keys first, then values
 * last to first, as the walk pops them).
 */
function inspectFlat(value: Record<string, unknown>, maxValues: number): InputIssue | undefined {
  const keys = Object.keys(value);
  if (keys.length > maxValues) return { field: '', message: `holds more than ${maxValues} values in all` };
  for (const key of keys) {
    const why = unsafeText(key);
    if (why) return { field: key, message: `has a key that ${why}` };
  }
  for (let i = keys.length - 1; i >= 0; i--) {
    const v = value[keys[i]!];
    if (typeof v !== 'string') continue;
    const why = unsafeText(v);
    if (why) return { field: keys[i]!, message: why };
  }
  return undefined;
}

/** Keys in all (every level) and depth of a value already known to be within `INPUT_LIMITS`. */
function shape(value: unknown): { depth: number; keys: number } {
  let depth = 0;
  let keys = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    depth = Math.max(depth, d + 1);
    const items = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    if (!Array.isArray(v)) keys += items.length;
    for (const item of items) stack.push([item, d + 1]);
  }
  return { depth, keys };
}

/** A free-form JSON object field (`metadata`, `options`): bounded by `INPUT_LIMITS.freeForm`. */
export const FreeJsonObject = z.record(z.string().max(64), z.unknown()).superRefine((value, ctx) => {
  const { maxDepth, maxKeys, maxBytes } = INPUT_LIMITS.freeForm;
  const problem = inspectJson(value, { maxDepth, maxValues: maxKeys * 4 });
  if (problem) {
    ctx.addIssue({ code: 'custom', message: `${problem.field || 'the object'} ${problem.message}` });
    return;
  }
  const { depth, keys } = shape(value);
  if (depth > maxDepth) ctx.addIssue({ code: 'custom', message: `is nested deeper than ${maxDepth} levels` });
  else if (keys > maxKeys) ctx.addIssue({ code: 'custom', message: `has more than ${maxKeys} keys in all` });
  else if (Buffer.byteLength(JSON.stringify(value)) > maxBytes)
    ctx.addIssue({ code: 'custom', message: `is larger than ${maxBytes} bytes as JSON` });
});

/** The year of an ISO 8601 date or date-time's start (`2026-...`, `+010000-...`), if it has one. */
function isoYear(text: string): number | undefined {
  const m = /^([+-]\d{6}|\d{4})-/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

/** True when a time text's year, if it names one, is within `minYear`..`maxYear`. */
export function yearInRange(text: string): boolean {
  const year = isoYear(text);
  return year === undefined || (year >= INPUT_LIMITS.minYear && year <= INPUT_LIMITS.maxYear);
}

export const YEAR_RANGE_MESSAGE = `the year must be between ${INPUT_LIMITS.minYear} and ${INPUT_LIMITS.maxYear}`;
