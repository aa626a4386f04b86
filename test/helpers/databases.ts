/**
 * Database factories for tests: in-memory PGlite, and a throw-away PostgreSQL database on the
 * server named by TEST_DATABASE_URL (created empty, dropped afterwards).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../core/index.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

export async function openPgliteForTest(): Promise<{ database: Database; dispose: () => Promise<void> }> {
  const database = await openDatabase({ kind: 'pglite' });
  return { database, dispose: () => database.close() };
}

export async function openPostgresForTest(
  adminUrl: string,
): Promise<{ database: Database; url: string; dispose: () => Promise<void> }> {
  const name = `herald_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ kind: 'postgres', url: url.toString(), poolMax: 4 });
  return {
    database,
    url: url.toString(),
    dispose: async () => {
      await database.close();
      const again = new pg.Client({ connectionString: adminUrl });
      await again.connect();
      await again.query(`drop database if exists ${name} with (force)`);
      await again.end();
    },
  };
}
