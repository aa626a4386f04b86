/**
 * A tracked link's destination: only absolute http(s) URLs without embedded credentials are
 * accepted (a `javascript:` or `data:` target, or `user:pass@host`, would turn Herald's
 * domain into a phishing tool), and the redirect adds the link's UTM parameters to it
 * without overwriting any the destination already carries.
 */
import { HeraldError, type schema } from '../../core/index.js';

export type Utm = schema.LinkUtm;

/** Longest destination accepted (browsers and platforms start failing past this). */
export const MAX_DESTINATION_LENGTH = 2048;
/** Longest value of one UTM parameter. */
export const MAX_UTM_LENGTH = 200;

const UTM_KEYS = ['source', 'medium', 'campaign', 'content', 'term'] as const;

const refuse = (message: string, destinationUrl?: string) =>
  new HeraldError('link_destination_invalid', {
    message,
    details: destinationUrl === undefined ? {} : { destinationUrl: destinationUrl.slice(0, 200) },
  });

/** The destination as a normalised absolute URL, or `link_destination_invalid` saying why not. */
export function validateDestination(input: unknown): string {
  if (typeof input !== 'string' || input.trim() === '') throw refuse('A destination URL is needed');
  const raw = input.trim();
  if (raw.length > MAX_DESTINATION_LENGTH)
    throw refuse(`The destination URL is longer than ${MAX_DESTINATION_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('The destination is not an absolute URL', raw);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw refuse(`Only http and https destinations are allowed, not ${url.protocol.replace(':', '')}`, raw);
  if (!url.hostname) throw refuse('The destination URL has no host', raw);
  if (url.username || url.password) throw refuse('The destination URL must not carry a user name or password', raw);
  return url.toString();
}

/** The UTM parameters kept: known keys with non-empty string values, trimmed. */
export function cleanUtm(input: unknown): Utm {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input))
    throw new HeraldError('validation_failed', {
      message: 'utm must be an object of source, medium, campaign, content, term',
    });
  const out: Utm = {};
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    if (!(UTM_KEYS as readonly string[]).includes(k))
      throw new HeraldError('validation_failed', {
        message: `Unknown UTM parameter "${k}"; use ${UTM_KEYS.join(', ')}`,
      });
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw new HeraldError('validation_failed', { message: `utm.${k} must be a string` });
    const t = v.trim();
    if (t.length > MAX_UTM_LENGTH)
      throw new HeraldError('validation_failed', { message: `utm.${k} is longer than ${MAX_UTM_LENGTH} characters` });
    if (t) out[k as (typeof UTM_KEYS)[number]] = t;
  }
  return out;
}

/** `destination` with `utm_<key>` added for each UTM value it does not already carry. */
export function withUtm(destination: string, utm: Utm): string {
  const keys = UTM_KEYS.filter((k) => utm[k]);
  if (keys.length === 0) return destination;
  const url = new URL(destination);
  for (const k of keys) {
    const name = `utm_${k}`;
    if (!url.searchParams.has(name)) url.searchParams.append(name, utm[k]!);
  }
  return url.toString();
}
