/**
 * Failed queries are logged without their parameters, on both databases: drizzle puts every
 * parameter (a password hash here) in the error's message and fields, and PostgreSQL's
 * `detail` can quote the row. The log keeps the SQL text and the database's reason.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, createUser } from '../../core/index.js';
import { openPgliteForTest, openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';

const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2VjcmV0LXNhbHQ$secret-hash-value';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

const databases = [
  { name: 'PGlite', open: openPgliteForTest },
  ...(TEST_DATABASE_URL ? [{ name: 'PostgreSQL', open: () => openPostgresForTest(TEST_DATABASE_URL!) }] : []),
];

describe.each(databases)('logging a failed query on $name', ({ open }) => {
  it('keeps the SQL and the reason, never the parameters or the row detail', async () => {
    const { database, dispose } = await open();
    try {
      const err = await createUser(database.db, {
        email: 'nul@example.com',
        passwordHash: HASH,
        displayName: 'a\u0000b',
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(String((err as Error).message)).toContain(HASH); // what drizzle hands us
      const { logger, lines } = capture();
      logger.error({ err }, 'request failed');
      logger.error({ err: new Error('wrapped', { cause: err }) }, 'wrapped failure');
      logger.flush();
      const text = lines.join('');
      expect(text).not.toContain('secret-hash-value');
      expect(text).not.toContain('nul@example.com');
      expect(text).toContain('insert into \\"users\\"');
      expect(text).toContain('params: [redacted]');
      expect(lines).toHaveLength(2);
    } finally {
      await dispose();
    }
  });
});
