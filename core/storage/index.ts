/** Public surface of media storage: the store interface, the local store and the factory. */
export {
  LocalMediaStore,
  digestOf,
  type ByteRange,
  type MediaSource,
  type MediaStore,
  type PutOptions,
  type StoredMedia,
} from './media-store.js';
export { contentKey, assertKey } from './keys.js';
export { createMediaStore } from './factory.js';
export type { S3MediaStoreOptions } from './s3-media-store.js';
