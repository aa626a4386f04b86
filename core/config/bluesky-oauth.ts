/**
 * Which Bluesky OAuth client Herald is (docs/connectors.md#bluesky-oauth), read from
 * `BLUESKY_OAUTH_KEY` and `PUBLIC_URL`:
 * - a key and an https `PUBLIC_URL`: a confidential client (`private_key_jwt`), its `client_id`
 *   `<PUBLIC_URL>/oauth/bluesky/client-metadata.json`;
 * - no key and no `PUBLIC_URL` (or a loopback http one): a loopback client for development, its
 *   redirect `http://127.0.0.1:<PORT>/oauth/bluesky/callback` (atproto's loopback rules: the
 *   browser and Herald on one machine, sessions of two weeks at most);
 * - otherwise none: Bluesky accounts connect with app passwords only.
 */
import type { ConfigProblem } from './index.js';

export type BlueskyOAuthConfig =
  | { readonly kind: 'confidential'; readonly publicUrl: string; readonly privateKeys: readonly string[] }
  | { readonly kind: 'loopback'; readonly redirectUri: string };

const CALLBACK = '/oauth/bluesky/callback';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function blueskyOAuthOf(
  values: Record<string, unknown>,
  port: number,
  problems: ConfigProblem[],
): BlueskyOAuthConfig | undefined {
  const key = values.BLUESKY_OAUTH_KEY as string | undefined;
  const publicUrl = values.PUBLIC_URL as string | undefined;
  const origin = publicUrl && URL.canParse(publicUrl) ? new URL(publicUrl) : undefined;
  if (key) {
    if (origin?.protocol !== 'https:') {
      problems.push({
        variable: 'BLUESKY_OAUTH_KEY',
        expects: 'PUBLIC_URL on https (the client metadata URL is the client_id)',
        problem: publicUrl ? `PUBLIC_URL is ${publicUrl}` : 'PUBLIC_URL is unset',
      });
      return undefined;
    }
    return { kind: 'confidential', publicUrl: publicUrl!.replace(/\/+$/, ''), privateKeys: [key] };
  }
  if (!origin) return { kind: 'loopback', redirectUri: `http://127.0.0.1:${port}${CALLBACK}` };
  if (origin.protocol === 'http:' && LOOPBACK_HOSTS.has(origin.hostname)) {
    // atproto loopback clients redirect to an IP literal, never to "localhost".
    const host = origin.hostname === 'localhost' ? '127.0.0.1' : origin.hostname;
    return { kind: 'loopback', redirectUri: `http://${host}:${origin.port || '80'}${CALLBACK}` };
  }
  return undefined;
}
