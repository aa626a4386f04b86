/**
 * `npm run backup` and `npm run restore` as functions (the scripts are their command lines):
 * the database, the media store, the key file and Chroma's collections into one folder, and
 * back into a Herald whose configuration (DATA_DIR, DATABASE_URL, CHROMA_URL, S3_*) says
 * where they go. Embedded services share files with a running Herald, so with PGlite or the
 * embedded Chroma both refuse while a Herald runs on the same DATA_DIR.
 */
import { copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  loadOrCreateKeyFile,
  openDatabase,
  pgliteOwnerFile,
  readCredentials,
  SecretCipher,
  schema,
  type Config,
} from '../../core/index.js';
import { backupChroma, openChroma, restoreChroma } from './chroma.js';
import { dumpDatabase, restoreDatabase, withSql } from './database.js';
import { BACKUP_FORMAT, BackupError, exists, KEYS_FILE, MANIFEST, readManifest, type Manifest } from './manifest.js';
import { backupMedia, restoreMedia } from './media.js';

export type Say = (line: string) => void;

/** Whether `pid` is a live process that may be Herald (or its child); false for one that is gone. */
async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false; // left by a process that is gone
  }
  // A pid reused by an unrelated program (after a reboot) is not Herald: Linux tells us.
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return cmdline === undefined || /node|redis|chroma/.test(cmdline);
}

/**
 * Refuses when a Herald process has this DATA_DIR's embedded parts open: the PGlite directory
 * (its owner file), or an embedded Chroma or Redis (their pid files).
 */
async function assertNoHeraldOn(config: Config): Promise<void> {
  if (config.databaseUrl && config.chromaUrl) return; // nothing embedded is touched
  const pidFiles = [path.join(config.dataDir, 'chroma.pid'), path.join(config.dataDir, 'redis', 'redis.pid.herald')];
  if (!config.databaseUrl) pidFiles.push(pgliteOwnerFile(path.join(config.dataDir, 'pg')));
  for (const pidFile of pidFiles) {
    const pid = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
    if (!Number.isInteger(pid) || pid <= 0 || !(await alive(pid))) continue;
    throw new BackupError(
      `Herald is running on ${config.dataDir} (pid ${pid} holds ${path.basename(pidFile)}): stop it first. PGlite and the embedded Chroma cannot be copied while in use.`,
    );
  }
}

const stamp = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
    .replace('T', '-');

/** Writes a backup folder under `outDir` and answers its path; `keep` prunes older ones. */
export async function backup(config: Config, outDir: string, say: Say, keep?: number): Promise<string> {
  await assertNoHeraldOn(config);
  const createdAt = new Date();
  const name = `herald-${stamp(createdAt)}`;
  const final = path.resolve(outDir, name);
  // Written under a temporary name and renamed when complete: a folder named herald-* is whole.
  const dir = `${final}.partial`;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    const database = await dumpDatabase(config, dir);
    say(`database: ${database.kind}, ${database.migrations} migrations -> ${database.file}`);
    const rows = await withSql(config, (query) => query('select distinct storage_key, mime_type from media'));
    const media = await backupMedia(config, dir, rows);
    say(`media: ${media.count} objects, ${media.bytes} bytes`);
    let keys: Manifest['keys'] = { from: 'none' };
    if (config.encryption) {
      keys = { from: 'environment' };
      say('keys: ENCRYPTION_KEYS come from the environment and are NOT in this backup: keep them safe, apart from it');
    } else if (await exists(path.join(config.dataDir, KEYS_FILE))) {
      await copyFile(path.join(config.dataDir, KEYS_FILE), path.join(dir, KEYS_FILE));
      keys = { from: 'file' };
      say(`keys: ${KEYS_FILE} included (this backup can decrypt stored tokens: store it like a password)`);
    }
    const chroma = await openChroma(config);
    let collections: Manifest['chroma']['collections'];
    try {
      collections = await backupChroma(chroma.client, dir);
    } finally {
      await chroma.stop();
    }
    say(`knowledge: ${collections.length} Chroma collections, ${collections.reduce((n, c) => n + c.count, 0)} records`);
    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      createdAt: createdAt.toISOString(),
      database,
      media,
      keys,
      chroma: { collections },
    };
    await writeFile(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
    await rename(dir, final);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  if (keep !== undefined) {
    const old = (await readdir(outDir))
      .filter((n) => /^herald-\d{8}-\d{6}Z$/.test(n))
      .sort()
      .reverse()
      .slice(keep);
    for (const n of old) await rm(path.join(outDir, n), { recursive: true, force: true });
    if (old.length > 0) say(`pruned ${old.length} older backups (keeping ${keep})`);
  }
  return final;
}

/** Restores a backup folder into the configured Herald (which must be stopped). */
export async function restore(config: Config, dir: string, say: Say, force = false): Promise<void> {
  const manifest = await readManifest(dir);
  await assertNoHeraldOn(config);
  await mkdir(config.dataDir, { recursive: true });
  if (manifest.keys.from === 'file') {
    const target = path.join(config.dataDir, KEYS_FILE);
    const incoming = await readFile(path.join(dir, KEYS_FILE));
    const current = await readFile(target).catch(() => undefined);
    if (current && !current.equals(incoming) && !force) {
      throw new BackupError(`${target} exists and holds other keys: restore into a fresh DATA_DIR, or pass --force.`);
    }
    await writeFile(target, incoming, { mode: 0o600 });
    say(`keys: ${KEYS_FILE} restored`);
  }
  await restoreDatabase(config, dir, manifest, force);
  say(`database: ${manifest.database.kind} restored (${manifest.database.migrations} migrations)`);
  say(`media: ${await restoreMedia(config, dir)} objects restored`);
  const chroma = await openChroma(config);
  try {
    say(`knowledge: ${await restoreChroma(chroma.client, dir, force)} Chroma collections restored`);
  } finally {
    await chroma.stop();
  }
  await checkCredentials(config, say);
}

/**
 * Opens the restored database (migrating it to this Herald's schema) and decrypts every
 * stored account credential with the keys now configured: a restore whose keys do not match
 * its data says so here, not at the first publish.
 */
async function checkCredentials(config: Config, say: Say): Promise<void> {
  const cipher = config.encryption
    ? new SecretCipher(config.encryption.keys, config.encryption.activeKeyId)
    : (await loadOrCreateKeyFile(config.dataDir)).cipher;
  const database = await openDatabase(
    config.databaseUrl
      ? { kind: 'postgres', url: config.databaseUrl, poolMax: 2 }
      : { kind: 'pglite', dir: path.join(config.dataDir, 'pg') },
  );
  try {
    const accounts = await database.db
      .select({ id: schema.socialAccounts.id, workspaceId: schema.socialAccounts.workspaceId })
      .from(schema.socialAccounts);
    let failed = 0;
    for (const a of accounts) {
      try {
        await readCredentials(database.db, cipher, a.workspaceId, a.id);
      } catch {
        failed++;
      }
    }
    if (failed > 0) {
      throw new BackupError(
        `${failed} of ${accounts.length} stored account credentials do not decrypt with the configured keys: set ENCRYPTION_KEYS (or restore keys.json) as they were when the backup was made.`,
      );
    }
    say(`credentials: all ${accounts.length} stored account credentials decrypt with the configured keys`);
  } finally {
    await database.close();
  }
}
