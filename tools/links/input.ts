/**
 * What the links service and its statistics share: the checks of ids and labels a caller
 * sends, the most links one call handles, and how a short URL is spelt.
 */
import { HeraldError } from '../../core/index.js';

/** Most links one list or stats call returns. */
export const MAX_LINKS_PER_CALL = 200;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const invalid = (message: string, details: Record<string, unknown> = {}) =>
  new HeraldError('validation_failed', { message, details });

export function optionalUuid(name: string, v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || !UUID.test(v)) throw invalid(`${name} must be an id (uuid)`, { [name]: v });
  return v.toLowerCase();
}

export function optionalText(name: string, v: unknown, max: number, pattern?: RegExp): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw invalid(`${name} must be text`);
  const t = v.trim();
  if (!t) return null;
  if (t.length > max) throw invalid(`${name} is longer than ${max} characters`);
  if (pattern && !pattern.test(t)) throw invalid(`${name} "${t}" is not a valid value`);
  return t;
}

export const shortUrlOf = (baseUrl: string, code: string) => `${baseUrl.replace(/\/+$/, '')}/l/${code}`;
