/**
 * `PATCH /v1/workspace` merges its change into settings under the row's lock, so a concurrent
 * writer of another settings key (a knowledge re-embed's switch) is never undone. Needs two
 * real connections to PostgreSQL: one holds the row while the request waits.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';
import { startApiEnv } from '../helpers/api-env.js';

describe.runIf(!!TEST_DATABASE_URL)('workspace settings', () => {
  it('a PATCH that waits behind another settings writer keeps what that writer committed', async () => {
    const { database, url, dispose } = await openPostgresForTest(TEST_DATABASE_URL!);
    const api = await startApiEnv({ database });
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      const owner = await api.signUp();
      await other.query('begin');
      await other.query(
        `update workspaces set settings = jsonb_set(settings, '{knowledge}', '{"embedder":"ollama:nomic-embed-text"}') where id = $1`,
        [owner.workspaceId],
      );
      const patched = api.app.inject({
        method: 'PATCH',
        url: '/v1/workspace',
        headers: owner.auth,
        payload: { requireApproval: true },
      });
      await new Promise((r) => setTimeout(r, 300)); // the request is now waiting for the row
      await other.query('commit');
      expect((await patched).statusCode).toBe(200);
      const { rows } = await other.query('select settings from workspaces where id = $1', [owner.workspaceId]);
      expect(rows[0].settings).toMatchObject({
        requireApproval: true,
        knowledge: { embedder: 'ollama:nomic-embed-text' },
      });
    } finally {
      await other.end();
      await api.close();
      await dispose();
    }
  });
});
