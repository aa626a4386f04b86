/**
 * What a Herald backup holds and how its folder is laid out. A backup is one folder,
 * `herald-<UTC time>`, written by `npm run backup` and read by `npm run restore`:
 *
 *   manifest.json            this description (format, when, what, counts)
 *   database.pgdump          PostgreSQL: pg_dump's custom format, or
 *   database.pglite.tar.gz   PGlite: its own data-directory dump (dumpDataDir)
 *   media/index.json         every stored media object (key, type), and its bytes under media/<key>
 *   keys.json                DATA_DIR/keys.json, when the keys come from that file
 *   chroma/<collection>.json the collection (name, metadata, HNSW settings), and its records
 *   chroma/<collection>.jsonl   one line per record: id, embedding, document, metadata
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';

/** A backup or restore that cannot go on; the CLI prints its message and exits 1. */
export class BackupError extends Error {
  override name = 'BackupError';
}

export const BACKUP_FORMAT = 1;

export interface Manifest {
  format: typeof BACKUP_FORMAT;
  createdAt: string;
  database: { kind: 'postgres' | 'pglite'; file: string; migrations: number };
  media: { count: number; bytes: number };
  /** `file`: keys.json is in the backup; `environment`: ENCRYPTION_KEYS(_FILE) were set, keep them apart. */
  keys: { from: 'file' | 'environment' | 'none' };
  chroma: { collections: Array<{ name: string; count: number }> };
}

export const MANIFEST = 'manifest.json';
export const PG_DUMP_FILE = 'database.pgdump';
export const PGLITE_DUMP_FILE = 'database.pglite.tar.gz';
export const MEDIA_DIR = 'media';
export const MEDIA_INDEX = 'media/index.json';
export const KEYS_FILE = 'keys.json';
export const CHROMA_DIR = 'chroma';

export async function readManifest(dir: string): Promise<Manifest> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch (cause) {
    throw new BackupError(`${dir} is not a Herald backup (no readable ${MANIFEST})`, { cause });
  }
  if (manifest.format !== BACKUP_FORMAT) {
    throw new BackupError(
      `${dir} is a backup of format ${String(manifest.format)}; this Herald reads format ${BACKUP_FORMAT}`,
    );
  }
  return manifest;
}

export const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** A message fit for the terminal, from any error. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
