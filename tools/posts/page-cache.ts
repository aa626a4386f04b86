/**
 * Rendered pages of `listPosts`, kept per database and keyed by the workspace's content
 * version. The version is bumped by a database trigger in the same transaction as any change
 * to the workspace's posts or targets (migration 0006), and the caller reads it in the same
 * request before asking here, so a page is only ever served to a request that could not have
 * seen a newer state: a change commits, the next request reads the new version and misses.
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
