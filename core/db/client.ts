/**
 * Opens Herald's database: PostgreSQL through `pg` when a URL is given, otherwise embedded
 * PGlite in a directory (or in memory for tests). Both run the same checked-in migrations and
 * return the same Drizzle database type, so every query is written once. On PostgreSQL the
 * migration runs under an advisory lock, so several processes starting together migrate once.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { keepStatements } from './pglite-statements.js';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import type { Logger } from 'pino';
import { HeraldError } from '../errors.js';
import { retryAtStartup, reasonOf } from '../process/startup-retry.js';
import * as schema from './schema.js';

export type Schema = typeof schema;
/** A database or a transaction: repository functions accept either. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

/**
 * A prepared statement built once per database (and, on PostgreSQL, planned once per
 * connection): `perDatabase((db) => db.select()...prepare('name'))` returns its getter.
 */
export function perDatabase<T>(build: (db: Db) => T): (db: Db) => T {
  const built = new WeakMap<Db, T>();
  return (db) => {
    let value = built.get(db);
    if (value === undefined) built.set(db, (value = build(db)));
    return value;
  };
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
/** Arbitrary constant: the advisory lock key that serialises migrations across processes. */
const MIGRATION_LOCK_KEY = 0x48_45_52_41; // "HERA"

export interface Database {
  readonly db: Db;
  readonly kind: 'postgres' | 'pglite';
  /** Round-trip `select 1`; throws when the database does not answer. */
  ping(): Promise<void>;
  /**
   * Subscribes to `NOTIFY` on `channel` (a lower-case identifier): `onMessage` gets each
   * payload, `onState(true)` is called once the subscription is in place and `onState(false)`
   * whenever it is lost (notifications sent meanwhile are gone; on PostgreSQL it reconnects
   * and calls `onState(true)` again). Ends with the returned function or `close()`.
   */
  listen(
    channel: string,
    onMessage: (payload: string) => void,
    onState: (up: boolean) => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;
function checkChannel(channel: string): void {
  if (!CHANNEL.test(channel)) throw new Error(`Not a channel name: ${channel}`);
}

export type DatabaseTarget =
  | {
      kind: 'postgres';
      url: string;
      poolMax?: number;
      /** Keep trying a server that does not accept connections yet for this long (`STARTUP_RETRY_MS`). Default 0. */
      retryForMs?: number;
      logger?: Logger;
    }
  | { kind: 'pglite'; dir?: string /* undefined = in memory */ };

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === 'postgres') {
    return openPostgres(target.url, target.poolMax ?? 10, target.retryForMs ?? 0, target.logger);
  }
  return openPglite(target.dir);
}

const BYTEA = 17;
/**
 * bytea through Node's hex codec: PGlite's own writes and reads each byte through a string
 * of its own (about 0.1 µs a byte, a millisecond for a 10 KB checkpoint); same text format.
 */
const BYTEA_HEX = {
  serializers: {
    [BYTEA]: (value: unknown) => {
      if (!(value instanceof Uint8Array)) throw new Error('Invalid input for bytea type');
      return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
    },
  },
  parsers: {
    [BYTEA]: (text: string) => {
      const bytes = Buffer.from(text.slice(2), 'hex');
      return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    },
  },
};

/**
 * `<dir>.pid` names the process that has a PGlite directory open, so `npm run backup` can
 * refuse to copy it while in use (PGlite takes no lock of its own). Removed on close, and
 * only by the process it names.
 */
export const pgliteOwnerFile = (dir: string): string => `${dir.replace(/[\\/]+$/, '')}.pid`;

async function openPglite(dir: string | undefined): Promise<Database> {
  if (dir) await mkdir(dir, { recursive: true });
  const client = await PGlite.create({ ...(dir ? { dataDir: dir } : {}), ...BYTEA_HEX });
  if (dir) await writeFile(pgliteOwnerFile(dir), String(process.pid));
  const release = async () => {
    if (!dir) return;
    const owner = await readFile(pgliteOwnerFile(dir), 'utf8').catch(() => '');
    if (owner === String(process.pid)) await rm(pgliteOwnerFile(dir), { force: true });
  };
  const db = drizzlePglite(client, { schema });
  try {
    await migratePglite(db, { migrationsFolder: MIGRATIONS_DIR });
  } catch (err) {
    await client.close();
    await release();
    throw err;
  }
  // From here on, each SQL text is parsed and planned once (migrations' DDL is not kept).
  keepStatements(client);
  return {
    db: db as unknown as Db,
    kind: 'pglite',
    ping: async () => {
      await client.query('select 1');
    },
    // One process holds the database, so the subscription cannot be lost while it is open.
    listen: async (channel, onMessage, onState) => {
      checkChannel(channel);
      const unlisten = await client.listen(channel, onMessage);
      onState(true);
      return async () => {
        onState(false);
        if (!client.closed) await unlisten();
      };
    },
    close: async () => {
      if (!client.closed) await client.close();
      await release();
    },
  };
}

/**
 * Errors of a server that is not there yet or still starting (refused, name not resolvable
 * yet, timed out, `57P03 cannot_connect_now`): worth waiting for. A wrong password or a missing
 * database is not, and fails at once.
 */
const NOT_YET = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', '57P03']);
function notUpYet(err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.some(notUpYet);
  const e = err as { code?: string; message?: string };
  return (
    (e.code !== undefined && NOT_YET.has(e.code)) ||
    /Connection terminated|timeout exceeded when trying to connect/i.test(e.message ?? '')
  );
}

async function openPostgres(url: string, poolMax: number, retryForMs: number, logger?: Logger): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolMax, connectionTimeoutMillis: 5_000 });
  // An idle client that loses its server emits 'error' on the pool; without a listener that
  // would crash the process. The next query reconnects.
  pool.on('error', () => undefined);
  const target = new URL(url).host;
  let lockClient: pg.PoolClient;
  try {
    lockClient = await retryAtStartup(
      { service: 'PostgreSQL', target, forMs: retryForMs, logger, retryable: notUpYet },
      () => pool.connect(),
    );
  } catch (err) {
    await pool.end();
    throw new HeraldError('db_unavailable', {
      message: notUpYet(err)
        ? `PostgreSQL at ${target} did not accept a connection within ${retryForMs} ms (${reasonOf(err)}). Check DATABASE_URL, or raise STARTUP_RETRY_MS.`
        : `PostgreSQL at ${target} refused the connection: ${reasonOf(err)}. Check DATABASE_URL.`,
      cause: err,
    });
  }
  try {
    await lockClient.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await migratePg(drizzlePg(lockClient, { schema }), { migrationsFolder: MIGRATIONS_DIR });
    } finally {
      await lockClient.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } catch (err) {
    lockClient.release();
    await pool.end();
    throw err;
  }
  lockClient.release();
  const db = drizzlePg(pool, { schema });
  const listeners = new Set<() => Promise<void>>();
  return {
    db: db as unknown as Db,
    kind: 'postgres',
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    listen: async (channel, onMessage, onState) => {
      checkChannel(channel);
      const stop = listenPostgres(url, channel, onMessage, onState);
      listeners.add(stop);
      return async () => {
        listeners.delete(stop);
        await stop();
      };
    },
    close: async () => {
      await Promise.all([...listeners].map((stop) => stop()));
      listeners.clear();
      if (!pool.ended) await pool.end();
    },
  };
}

/**
 * A connection of its own (a pooled one would be handed to queries), re-established a
 * second after it is lost, for as long as the subscription lasts.
 */
function listenPostgres(
  url: string,
  channel: string,
  onMessage: (payload: string) => void,
  onState: (up: boolean) => void,
): () => Promise<void> {
  let stopped = false;
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    if (stopped) return;
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    client = c;
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      onState(false);
      void c.end().catch(() => undefined);
      if (!stopped) retry = setTimeout(() => void connect(), 1_000);
    };
    c.on('error', onLost);
    c.on('end', onLost);
    c.on('notification', (m) => {
      if (m.channel === channel) onMessage(m.payload ?? '');
    });
    try {
      await c.connect();
      await c.query(`listen ${channel}`);
      if (stopped) return void (await c.end().catch(() => undefined));
      onState(true);
    } catch {
      onLost();
    }
  };
  void connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    const c = client;
    client = null;
    if (c) await c.end().catch(() => undefined);
  };
}
