/**
 * Approve and reject of the same post, sent at once, on PostgreSQL (real concurrency: each
 * request has its own connection): one decision wins under the post's row lock, the other is
 * `409 invalid_state`, and the review history holds exactly one decision that matches the
 * targets' status.
 */
import { describe, expect, it } from 'vitest';
import { createBlueskyConnector } from '../../connectors/bluesky/index.js';
import { addMember, createSession, createUser } from '../../core/index.js';
import { openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';
import { startApiEnv } from '../helpers/api-env.js';

const PAIRS = 10;

describe.runIf(!!TEST_DATABASE_URL)('approve vs reject on PostgreSQL', () => {
  it(`${PAIRS} concurrent approve/reject pairs: one wins each time, the other gets 409`, async () => {
    const { database, dispose } = await openPostgresForTest(TEST_DATABASE_URL!);
    const api = await startApiEnv({ database, connectors: [createBlueskyConnector({ timeoutMs: 1_000 })] });
    try {
      const owner = await api.signUp();
      await api.app.inject({
        method: 'PATCH',
        url: '/v1/workspace',
        headers: owner.auth,
        payload: { requireApproval: true },
      });
      const user = await createUser(api.deps.db, { email: `${crypto.randomUUID()}@example.com` });
      await addMember(api.deps.db, owner.workspaceId, user.id, 'editor');
      const session = await createSession(api.deps.db, user.id, 'review-race.test');
      const editor = {
        authorization: `Bearer ${await api.deps.auth.signer.sign({ userId: user.id, sessionId: session.id, workspaceId: owner.workspaceId })}`,
      };
      const account = (n: number) =>
        api.env.addAccount(owner.workspaceId, {
          platform: 'bluesky',
          externalId: `did:plc:race${n}${Date.now()}`,
          handle: `race${n}.test`,
          credentials: { service: 'http://127.0.0.1:9', did: `did:plc:race${n}`, handle: `race${n}.test` },
        });
      const accounts = [await account(1), await account(2)];
      const at = new Date(Date.now() + 7 * 86_400_000).toISOString();
      const outcomes: string[] = [];
      for (let i = 0; i < PAIRS; i++) {
        const created = await api.app.inject({
          method: 'POST',
          url: '/v1/posts',
          headers: editor,
          payload: {
            content: `race ${i}`,
            at,
            targets: accounts.map((socialAccountId) => ({ socialAccountId })),
          },
        });
        expect(created.statusCode, created.body).toBe(201);
        const id = created.json().id as string;
        const [approve, reject] = await Promise.all([
          api.app.inject({ method: 'POST', url: `/v1/posts/${id}/approve`, headers: owner.auth, payload: {} }),
          api.app.inject({
            method: 'POST',
            url: `/v1/posts/${id}/reject`,
            headers: owner.auth,
            payload: { comment: 'no' },
          }),
        ]);
        const statuses = [approve.statusCode, reject.statusCode].sort();
        expect(statuses, `${approve.body} / ${reject.body}`).toEqual([200, 409]);
        const loser = approve.statusCode === 409 ? approve : reject;
        expect(loser.json().error.code).toBe('invalid_state');
        const post = (await api.app.inject({ method: 'GET', url: `/v1/posts/${id}`, headers: owner.auth })).json();
        const decisions = (post.reviews as Array<{ decision: string }>).map((r) => r.decision);
        const won = approve.statusCode === 200 ? 'approved' : 'rejected';
        expect(decisions).toEqual(['submitted', won]);
        const targetStatuses = new Set((post.targets as Array<{ status: string }>).map((t) => t.status));
        expect([...targetStatuses]).toEqual([won === 'approved' ? 'scheduled' : 'draft']);
        outcomes.push(won);
      }
      expect(outcomes).toHaveLength(PAIRS);
    } finally {
      await api.close();
      await dispose();
    }
  });
});
