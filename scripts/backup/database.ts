/**
 * The database part of a backup. PostgreSQL: `pg_dump --format=custom` out and `pg_restore`
 * in, connection details passed through PG* variables so the password never shows in `ps`.
 * PGlite: its own `dumpDataDir` tarball out, and `loadDataDir` into a fresh `DATA_DIR/pg`.
 * A restore never writes over data: the target database must hold no Herald tables (or
 * `--force`), and a backup made by a newer Herald (more migrations than this one knows) is
 * refused rather than half understood.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { MIGRATIONS_DIR, type Config } from '../../core/index.js';
import { BackupError, exists, PG_DUMP_FILE, PGLITE_DUMP_FILE, type Manifest } from './manifest.js';

/** Runs `fn` with a query function on the configured database (no migration is run). */
export async function withSql<T>(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  fn: (query: (text: string) => Promise<Record<string, unknown>[]>, pglite: PGlite | undefined) => Promise<T>,
): Promise<T> {
  if (config.databaseUrl) {
    const client = new pg.Client({ connectionString: config.databaseUrl });
    await client.connect();
    try {
      return await fn(async (text) => (await client.query(text)).rows as Record<string, unknown>[], undefined);
    } finally {
      await client.end();
    }
  }
  const dir = path.join(config.dataDir, 'pg');
  if (!(await exists(path.join(dir, 'PG_VERSION')))) {
    throw new BackupError(`No PGlite database in ${dir}: is DATA_DIR (or DATABASE_URL) right?`);
  }
  const db = await PGlite.create({ dataDir: dir });
  try {
    return await fn(async (text) => (await db.query<Record<string, unknown>>(text)).rows, db);
  } finally {
    await db.close();
  }
}

/** Migrations applied to a database (drizzle's own table), 0 when it has none. */
export async function appliedMigrations(query: (text: string) => Promise<Record<string, unknown>[]>): Promise<number> {
  const [present] = await query(`select to_regclass('drizzle.__drizzle_migrations') is not null as present`);
  if (!present?.present) return 0;
  const [row] = await query('select count(*)::int as n from drizzle.__drizzle_migrations');
  return Number(row?.n ?? 0);
}

/** Migrations this copy of Herald ships. */
export function knownMigrations(): number {
  const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

/** libpq's variables for a postgres:// URL (the password stays out of the command line). */
function libpqEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  const env: NodeJS.ProcessEnv = {
    // Passed through, not read as settings: pg_dump needs PATH, HOME and the locale.
    // eslint-disable-next-line no-restricted-syntax
    ...process.env,
    PGHOST: decodeURIComponent(u.hostname).replace(/^\[|\]$/g, ''),
    PGPORT: u.port || '5432',
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
  };
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}

async function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new BackupError(
              `${command} is not on PATH: install PostgreSQL's client programs (Debian: apt-get install postgresql-client)`,
            )
          : err,
      ),
    );
    child.once('close', resolve);
  });
  if (code !== 0) throw new BackupError(`${command} failed (exit ${code}): ${stderr.trim()}`);
}

export async function dumpDatabase(config: Config, dir: string): Promise<Manifest['database']> {
  if (config.databaseUrl) {
    const migrations = await withSql(config, appliedMigrations);
    // Custom format: compressed, and pg_restore can pick and reorder what it restores.
    await run(
      'pg_dump',
      ['--format=custom', '--no-owner', '--no-privileges', `--file=${path.join(dir, PG_DUMP_FILE)}`],
      libpqEnv(config.databaseUrl),
    );
    return { kind: 'postgres', file: PG_DUMP_FILE, migrations };
  }
  return withSql(config, async (query, pglite) => {
    const migrations = await appliedMigrations(query);
    const tarball = await pglite!.dumpDataDir('gzip');
    await writeFile(path.join(dir, PGLITE_DUMP_FILE), Buffer.from(await tarball.arrayBuffer()));
    return { kind: 'pglite' as const, file: PGLITE_DUMP_FILE, migrations };
  });
}

export async function restoreDatabase(config: Config, dir: string, manifest: Manifest, force: boolean): Promise<void> {
  const known = knownMigrations();
  if (manifest.database.migrations > known) {
    throw new BackupError(
      `This backup was made by a newer Herald (${manifest.database.migrations} migrations; this one knows ${known}): restore it with that version or a later one.`,
    );
  }
  const want = config.databaseUrl ? 'postgres' : 'pglite';
  if (manifest.database.kind !== want) {
    throw new BackupError(
      manifest.database.kind === 'pglite'
        ? 'This backup holds an embedded PGlite database: restore it with DATABASE_URL unset (then move to PostgreSQL with pg_dump from a running Herald).'
        : 'This backup holds a PostgreSQL dump: set DATABASE_URL to the (empty) database to restore it into.',
    );
  }
  if (config.databaseUrl) {
    const tables = await withSql(config, async (query) => {
      const rows = await query(
        `select count(*)::int as n from information_schema.tables where table_schema in ('public', 'drizzle')`,
      );
      return Number(rows[0]?.n ?? 0);
    });
    if (tables > 0 && !force) {
      throw new BackupError(
        `The database at DATABASE_URL already has ${tables} tables: restore into an empty database, or pass --force to replace them.`,
      );
    }
    await run(
      'pg_restore',
      [
        '--no-owner',
        '--no-privileges',
        '--exit-on-error',
        '--single-transaction',
        ...(tables > 0 ? ['--clean', '--if-exists'] : []),
        `--dbname=${libpqEnv(config.databaseUrl).PGDATABASE}`,
        path.join(dir, manifest.database.file),
      ],
      libpqEnv(config.databaseUrl),
    );
    return;
  }
  const target = path.join(config.dataDir, 'pg');
  if (await exists(path.join(target, 'PG_VERSION'))) {
    if (!force) {
      throw new BackupError(`${target} already holds a database: restore into a fresh DATA_DIR, or pass --force.`);
    }
    await rm(target, { recursive: true, force: true });
  }
  const tarball = new Blob([await readFile(path.join(dir, manifest.database.file))]);
  const db = await PGlite.create({ dataDir: target, loadDataDir: tarball });
  await db.close();
}
