/** The set of connectors a process can publish with, looked up by platform name. */
import { HeraldError } from '../core/index.js';
import type { Connector } from './contract.js';

export class ConnectorRegistry {
  readonly #byPlatform = new Map<string, Connector>();

  constructor(connectors: Connector[] = []) {
    for (const c of connectors) this.register(c);
  }

  register(connector: Connector): this {
    this.#byPlatform.set(connector.platform, connector);
    return this;
  }

  has(platform: string): boolean {
    return this.#byPlatform.has(platform);
  }

  get(platform: string): Connector {
    const c = this.#byPlatform.get(platform);
    if (!c) {
      throw new HeraldError('account_unavailable', {
        message: `Herald cannot publish to ${platform}: no connector for it is configured`,
        details: { platform },
      });
    }
    return c;
  }

  get platforms(): string[] {
    return [...this.#byPlatform.keys()];
  }
}
