/**
 * Public surface of `core/`: config, errors, logging, crypto, database, queue and child
 * processes. Other folders import from here, never from files inside core.
 */
export {
  loadConfig,
  redactedConfig,
  VARIABLES,
  DEFAULTS,
  type Config,
  type LoadConfigOptions,
  type VariableDoc,
  MODEL_PROVIDERS,
  ModelFileEntrySchema,
  ModelFileSchema,
  readModelsFile,
  type ModelFileEntry,
} from './config/index.js';
export { HeraldError, isHeraldError, ERROR_CATALOGUE, type ErrorCode, type ErrorSpec } from './errors.js';
export { ROLE_ORDER, roleAtLeast, requireRole } from './access.js';
export { createLogger, REDACT_PATHS, type Logger } from './logger.js';
export { SecretCipher, type Sealed } from './crypto/secret-cipher.js';
export { loadOrCreateKeyFile } from './crypto/key-file.js';
export * from './db/index.js';
export * from './queue/index.js';
export { startManagedChild, reapStale, type ManagedChild, type ManagedChildOptions } from './process/managed-child.js';
export { retryAtStartup, type StartupRetryOptions } from './process/startup-retry.js';
export {
  EventBus,
  type HeraldEvent,
  type TargetStatusEvent,
  type AccountStatusEvent,
  type ModelPullEvent,
  type KnowledgeIngestEvent,
  type KnowledgeFeedEvent,
  type NotificationEvent,
  type TargetStatusName,
} from './events/index.js';
export {
  LocalMediaStore,
  createMediaStore,
  digestOf,
  contentKey,
  assertKey,
  type ByteRange,
  type MediaSource,
  type MediaStore,
  type PutOptions,
  type StoredMedia,
  type S3MediaStoreOptions,
} from './storage/index.js';
export {
  OutboundAddressError,
  OUTBOUND_RANGE_NAMES,
  isOutboundAllowEntry,
  outboundDispatcher,
  outboundRefusal,
  refusedRange,
  setOutboundPolicy,
  userUrlDispatcher,
  type OutboundPolicy,
} from './net/outbound.js';
export { readBodyCapped, type CappedBody } from './net/capped-body.js';
export { PLATFORM_NAMES } from './platforms.js';
