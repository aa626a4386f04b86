/** What the publishing worker needs, passed in (no globals). */
import type { Db, EventBus, Logger, MediaStore, SecretCipher } from '../../core/index.js';
import type { ConnectorRegistry } from '../../connectors/index.js';
import type { AccountGate } from './account-gate.js';

export interface PublishWorkerDeps {
  db: Db;
  cipher: SecretCipher;
  connectors: ConnectorRegistry;
  mediaStore: MediaStore;
  events: EventBus | null;
  gate: AccountGate;
  logger: Logger;
  /** Called once a target is published (analytics schedules its metrics reads); failures are logged. */
  onPublished?: (target: { workspaceId: string; targetId: string }) => Promise<void>;
}
