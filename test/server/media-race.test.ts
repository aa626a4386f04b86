/**
 * Deleting media and scheduling a post that uses it cannot interleave into a target that
 * names deleted media. Two real PostgreSQL connections make the interleavings happen in a
 * known order: one plays the other request, holding its locks while the API's request waits.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertSocialAccount } from '../../core/index.js';
import { openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';
import { solidPng } from '../helpers/media-fixtures.js';
import { fileField, upload } from '../helpers/media-upload.js';

describe.runIf(!!TEST_DATABASE_URL)('media delete vs a post using it', () => {
  let api: ApiEnv;
  let dispose: () => Promise<void>;
  let url: string;
  beforeAll(async () => {
    const opened = await openPostgresForTest(TEST_DATABASE_URL!);
    ({ dispose, url } = opened);
    api = await startApiEnv({ database: opened.database });
  });
  afterAll(async () => {
    await api?.close();
    await dispose?.();
  });

  async function setup(p: Person, colour: string) {
    const mediaId = (await upload(api, p, [fileField(await solidPng(10, 10, colour))])).json().id as string;
    const account = await upsertSocialAccount(api.env.database.db, api.env.cipher, p.workspaceId, {
      platform: 'bluesky',
      externalId: `did:plc:${randomUUID()}`,
      handle: 'race.test',
      credentials: { accessJwt: 'a' },
    });
    return { mediaId, accountId: account.id };
  }

  it('a delete that starts while a post with the media is being stored waits, then refuses (409)', async () => {
    const p = await api.signUp();
    const { mediaId, accountId } = await setup(p, '#112233');
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      // The other request: has checked the media and holds it while it stores its post.
      await other.query('begin');
      await other.query('select id from media where id = $1 for key share', [mediaId]);
      const deleting = api.app.inject({ method: 'DELETE', url: `/v1/media/${mediaId}`, headers: p.auth });
      await new Promise((r) => setTimeout(r, 300));
      const post = await other.query(`insert into posts (workspace_id, content) values ($1, 'race') returning id`, [
        p.workspaceId,
      ]);
      await other.query(
        `insert into post_targets (workspace_id, post_id, social_account_id, platform, content, media, status, scheduled_at)
         values ($1, $2, $3, 'bluesky', 'race', $4::jsonb, 'scheduled', now() + interval '1 day')`,
        [p.workspaceId, post.rows[0].id, accountId, JSON.stringify([{ mediaId }])],
      );
      await other.query('commit');
      const res = await deleting;
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('media_in_use');
    } finally {
      await other.end();
    }
  });

  it('a post stored while the media is being deleted fails with not_found instead of naming it', async () => {
    const p = await api.signUp();
    const { mediaId, accountId } = await setup(p, '#445566');
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      // The other request: a delete that has locked the row and found no post using it.
      await other.query('begin');
      await other.query('select id from media where id = $1 for update', [mediaId]);
      const scheduling = api.app.inject({
        method: 'POST',
        url: '/v1/posts',
        headers: p.auth,
        payload: {
          content: 'with a picture',
          draft: true,
          targets: [{ socialAccountId: accountId, media: [{ mediaId }] }],
        },
      });
      await new Promise((r) => setTimeout(r, 300));
      await other.query('delete from media where id = $1', [mediaId]);
      await other.query('commit');
      const res = await scheduling;
      expect(res.statusCode).toBe(404);
      const { rows } = await other.query(`select count(*)::int as n from post_targets where media @> $1::jsonb`, [
        JSON.stringify([{ mediaId }]),
      ]);
      expect(rows[0].n).toBe(0);
    } finally {
      await other.end();
    }
  });
});
