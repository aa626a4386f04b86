/** The platform connectors this build of Herald publishes with. */
import { ConnectorRegistry } from '../connectors/index.js';
import { createBlueskyConnector } from '../connectors/bluesky/index.js';
import { createMastodonConnector } from '../connectors/mastodon/index.js';

export function createConnectors(opts: { timeoutMs: number }): ConnectorRegistry {
  return new ConnectorRegistry([
    createBlueskyConnector({ timeoutMs: opts.timeoutMs }),
    createMastodonConnector({ timeoutMs: opts.timeoutMs }),
  ]);
}
