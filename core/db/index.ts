/** Public surface of the database layer: open/migrate, the schema, and the repositories. */
export {
  openDatabase,
  pgliteOwnerFile,
  MIGRATIONS_DIR,
  type Database,
  type DatabaseTarget,
  type Db,
  type Schema,
} from './client.js';
export * as schema from './schema.js';
export { mapConstraintErrors } from './pg-errors.js';
export * from './repositories/tenancy.js';
export * from './repositories/api-keys.js';
export * from './repositories/social-accounts.js';
export * from './repositories/posts.js';
export * from './repositories/publish-attempts.js';
export * from './repositories/media.js';
export * from './repositories/usage.js';
export * from './repositories/audit.js';
export * from './repositories/auth.js';
export { memberZone } from './zones.js';
