/**
 * Rendered pages of `listPosts`, kept per database and keyed by the workspace's content
 * version. The version is bumped by a database trigger in the same transaction as any change
 * to the workspace's posts or targets (migration 0006); the caller passes the version its
 * principal carries, read from the database or from the principal cache, which drops it when
 * the workspace changes (server/auth/principal-cache.ts). So a change made through this
 * process shows on its next request, and one made elsewhere once its notification arrives.
 * A page rendered after a newer commit may be stored under the older version it was asked
 * with; that only makes a few requests see the newer page early, never an older one late.
 */
import { LRUCache } from 'lru-cache';
import type { Db } from '../../core/index.js';

/** Bytes of rendered pages kept per database (least recently used go first). */
export const PAGE_CACHE_BYTES = 32 * 1024 * 1024;

const caches = new WeakMap<Db, LRUCache<string, Buffer>>();

export function pageCacheOf(db: Db): LRUCache<string, Buffer> {
  let cache = caches.get(db);
  if (!cache) {
    cache = new LRUCache<string, Buffer>({ maxSize: PAGE_CACHE_BYTES, sizeCalculation: (b) => b.length + 200 });
    caches.set(db, cache);
  }
  return cache;
}

export function pageKey(
  workspaceId: string,
  contentVersion: number,
  page: { timeZone: string; limit: number; cursor?: string | undefined; statuses?: readonly string[] | undefined },
): string {
  return [
    workspaceId,
    contentVersion,
    page.timeZone,
    page.limit,
    page.cursor ?? '',
    page.statuses?.join(',') ?? '',
  ].join('\u0000');
}
