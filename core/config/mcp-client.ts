/**
 * The environment of `herald mcp`, the stdio bridge desktop MCP clients start: which Herald to
 * reach and with which API key. Read here, like every other variable, and validated at once.
 */
import { z } from 'zod';
import { HeraldError } from '../errors.js';

export interface McpClientConfig {
  /** Herald's base URL; the bridge talks to `<url>/mcp`. */
  readonly url: URL;
  /** An `hk_` API key; its scopes decide which tools work. */
  readonly apiKey: string;
}

const Schema = z.object({
  HERALD_URL: z.url({ protocol: /^https?$/ }),
  HERALD_API_KEY: z.string().regex(/^hk_\S+$/, { error: 'an API key (hk_...) from POST /v1/api-keys' }),
});

export function loadMcpClientConfig(env: Record<string, string | undefined> = process.env): McpClientConfig {
  const parsed = Schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new HeraldError('config_invalid', { message: `herald mcp: ${problems}` });
  }
  const base = parsed.data.HERALD_URL.replace(/\/+$/, '');
  return Object.freeze({ url: new URL(`${base}/mcp`), apiKey: parsed.data.HERALD_API_KEY });
}
