/**
 * The principal cache against real databases: changes made behind the API's back (another
 * node, a worker, a manual SQL fix) reach every process through PostgreSQL's NOTIFY, changes
 * made through the API take effect on its next request, and with the notification channel
 * lost nothing is served from the cache.
 */
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/index.js';
import { openPgliteForTest, openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';

async function eventually(check: () => Promise<boolean>, ms = 3_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function suite(name: string, open: () => Promise<{ database: Database; dispose: () => Promise<void> }>) {
  describe(`principal cache on ${name}`, () => {
    let api: ApiEnv;
    let dispose: () => Promise<void>;
    let database: Database;

    beforeAll(async () => {
      ({ database, dispose } = await open());
      api = await startApiEnv({ database });
      await eventually(async () => api.deps.auth.principals!.available);
    });
    afterAll(async () => {
      await api?.close();
      await dispose?.();
    });

    const get = (p: Person, url = '/v1/posts') => api.app.inject({ method: 'GET', url, headers: p.auth });

    it('a session revoked in the database (not through this API) is refused once the notification lands', async () => {
      const me = await api.signUp();
      expect((await get(me)).statusCode).toBe(200);
      expect((await get(me)).statusCode).toBe(200); // now cached
      await database.db.execute(sql`update sessions set revoked_at = now() where user_id = ${me.userId}`);
      await eventually(async () => (await get(me)).statusCode === 401);
    });

    it('a role lowered in the database stops writes; removal from the workspace stops everything', async () => {
      const owner = await api.signUp();
      const member = await api.signUp();
      // Put `member` into owner's workspace as an editor directly, then sign in to it.
      await database.db.execute(
        sql`insert into memberships (workspace_id, user_id, role) values (${owner.workspaceId}, ${member.userId}, 'editor')`,
      );
      const switched = await api.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: member.email, password: member.password, workspaceId: owner.workspaceId },
      });
      expect(switched.statusCode).toBe(200);
      const asEditor: Person = {
        ...member,
        workspaceId: owner.workspaceId,
        auth: { authorization: `Bearer ${switched.json().accessToken}` },
      };
      // An edit of a post that does not exist: 404 for an editor, 403 for a viewer.
      const draft = () =>
        api.app.inject({
          method: 'PUT',
          url: '/v1/posts/00000000-0000-4000-8000-000000000000',
          headers: asEditor.auth,
          payload: { content: 'x' },
        });
      expect((await draft()).statusCode).toBe(404);
      expect((await get(asEditor)).statusCode).toBe(200);
      await database.db.execute(
        sql`update memberships set role = 'viewer' where workspace_id = ${owner.workspaceId} and user_id = ${member.userId}`,
      );
      await eventually(async () => (await draft()).statusCode === 403);
      await database.db.execute(
        sql`delete from memberships where workspace_id = ${owner.workspaceId} and user_id = ${member.userId}`,
      );
      await eventually(async () => (await get(asEditor)).statusCode === 401);
    });

    it('an API key revoked through the API is refused on the very next request', async () => {
      const me = await api.signUp();
      const created = await api.app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: me.auth,
        payload: { name: 'k', scopes: ['read'] },
      });
      expect(created.statusCode).toBe(201);
      const { key: stored, secret: key } = created.json() as { key: { id: string }; secret: string };
      const id = stored.id;
      const withKey = () => api.app.inject({ method: 'GET', url: '/v1/posts', headers: { 'x-api-key': key } });
      expect((await withKey()).statusCode).toBe(200);
      expect((await withKey()).statusCode).toBe(200);
      const revoked = await api.app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers: me.auth });
      expect(revoked.statusCode).toBe(204);
      expect((await withKey()).statusCode).toBe(401);
    });
  });
}

suite('PGlite', openPgliteForTest);

describe.runIf(!!TEST_DATABASE_URL)('PostgreSQL', () => {
  suite('PostgreSQL', () => openPostgresForTest(TEST_DATABASE_URL!));

  it('while the notification connection is down nothing is cached, and it comes back by itself', async () => {
    const { database, url, dispose } = await openPostgresForTest(TEST_DATABASE_URL!);
    const api = await startApiEnv({ database });
    try {
      const cache = api.deps.auth.principals!;
      await eventually(async () => cache.available);
      const me = await api.signUp();
      expect((await api.app.inject({ method: 'GET', url: '/v1/posts', headers: me.auth })).statusCode).toBe(200);
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query ilike 'listen %'`,
      );
      await eventually(async () => !cache.available);
      // Off: a revocation behind the API's back is seen at once, with no notification at all.
      await admin.query(`update sessions set revoked_at = now() where user_id = $1`, [me.userId]);
      expect((await api.app.inject({ method: 'GET', url: '/v1/posts', headers: me.auth })).statusCode).toBe(401);
      await admin.end();
      await eventually(async () => cache.available, 5_000);
    } finally {
      await api.close();
      await dispose();
    }
  });
});
