/**
 * The media part of a backup: every object a media record names, read through the configured
 * store (local disk or S3) and written under `media/<key>`, with `media/index.json` listing
 * them. Keys are the SHA-256 of the bytes, so a restore puts each file back through the store
 * and checks it lands under the same key: bytes that changed on the way are caught.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createMediaStore, type Config } from '../../core/index.js';
import { assertKey } from '../../core/storage/index.js';
import { BackupError, MEDIA_DIR, MEDIA_INDEX } from './manifest.js';

interface MediaEntry {
  key: string;
  contentType: string;
  sizeBytes: number;
}

export async function backupMedia(
  config: Config,
  dir: string,
  rows: Array<Record<string, unknown>>,
): Promise<{ count: number; bytes: number }> {
  const store = await createMediaStore(config);
  const entries: MediaEntry[] = [];
  try {
    const seen = new Set<string>();
    for (const row of rows) {
      const key = String(row.storage_key);
      if (seen.has(key)) continue;
      seen.add(key);
      assertKey(key); // a stored key never leads outside media/
      const bytes = await store.get(key);
      const file = path.join(dir, MEDIA_DIR, key);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, bytes);
      entries.push({ key, contentType: String(row.mime_type), sizeBytes: bytes.length });
    }
  } finally {
    store.close?.();
  }
  await mkdir(path.join(dir, MEDIA_DIR), { recursive: true });
  await writeFile(path.join(dir, MEDIA_INDEX), JSON.stringify(entries, null, 1) + '\n');
  return { count: entries.length, bytes: entries.reduce((n, e) => n + e.sizeBytes, 0) };
}

export async function restoreMedia(config: Config, dir: string): Promise<number> {
  const entries = JSON.parse(await readFile(path.join(dir, MEDIA_INDEX), 'utf8')) as MediaEntry[];
  const store = await createMediaStore(config);
  try {
    for (const entry of entries) {
      assertKey(entry.key);
      const bytes = await readFile(path.join(dir, MEDIA_DIR, entry.key));
      const stored = await store.put(bytes, {
        extension: path.extname(entry.key).slice(1),
        contentType: entry.contentType,
      });
      if (stored.key !== entry.key) {
        throw new BackupError(
          `media/${entry.key} in the backup does not hold the bytes its name says (damaged backup)`,
        );
      }
    }
  } finally {
    store.close?.();
  }
  return entries.length;
}
