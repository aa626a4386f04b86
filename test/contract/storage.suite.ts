/**
 * The storage contract: every database backend Herald supports (PGlite, PostgreSQL) runs
 * these same tests through a few-line initializer. They pin down migrations, repository
 * round-trips, workspace scoping, credential encryption and unique constraints.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  appendAudit,
  countByKeyId,
  createApiKey,
  createPost,
  createUser,
  createWorkspace,
  finishAttempt,
  findUserByEmail,
  getMedia,
  getPost,
  getRole,
  getSocialAccount,
  getTarget,
  insertMedia,
  listApiKeys,
  listAttempts,
  listAudit,
  listMedia,
  listMembers,
  listSocialAccounts,
  listTargetsInRange,
  listWorkspacesOfUser,
  readCredentials,
  recordUsage,
  resolveApiKey,
  revokeApiKey,
  rotateCredentialKeys,
  SecretCipher,
  startAttempt,
  summarizeUsage,
  touchApiKey,
  transitionTarget,
  upsertSocialAccount,
  writeCredentials,
  deletePost,
  type Database,
  type Db,
} from '../../core/index.js';

export const EXPECTED_TABLES = [
  'account_snapshots',
  'affiliate_programs',
  'agent_actions',
  'agent_checkpoint_blobs',
  'agent_checkpoint_writes',
  'agent_checkpoints',
  'analytics_report_settings',
  'api_keys',
  'audit_log',
  'bluesky_oauth_sessions',
  'bluesky_oauth_states',
  'campaign_posts',
  'campaign_products',
  'campaign_settings',
  'campaigns',
  'channel_link_codes',
  'channel_links',
  'coach_goals',
  'coach_messages',
  'coach_settings',
  'conversions',
  'exchange_rates',
  'invitations',
  'knowledge_sources',
  'link_clicks',
  'media',
  'memberships',
  'metric_snapshots',
  'notification_prefs',
  'notifications',
  'oauth_clients',
  'oauth_grants',
  'oauth_tokens',
  'post_reviews',
  'post_targets',
  'posting_slots',
  'posts',
  'product_affiliate_links',
  'products',
  'publish_attempts',
  'publish_handles',
  'recurring_series',
  'refresh_tokens',
  'sessions',
  'social_accounts',
  'tracked_links',
  'trend_adaptations',
  'trend_alerts',
  'trend_items',
  'trend_niches',
  'trend_source_health',
  'trend_term_counts',
  'usage_ledger',
  'users',
  'workspaces',
];

export interface StorageSuiteBackend {
  /** Opens an empty, migrated database. */
  open(): Promise<{ database: Database; dispose: () => Promise<void> }>;
  /** A persistent database that can be opened, closed and opened again (migrations re-run on open). */
  persistent(): Promise<{ open(): Promise<Database>; cleanup(): Promise<void> }>;
}

const key = () => randomBytes(32);
const slug = () => `ws-${randomUUID().slice(0, 8)}`;

async function seedWorkspace(db: Db, cipher: SecretCipher) {
  const ws = await createWorkspace(db, { name: 'Acme', slug: slug(), timeZone: 'Europe/Paris' });
  const user = await createUser(db, { email: `${randomUUID()}@example.com` });
  await addMember(db, ws.id, user.id, 'owner');
  const account = await upsertSocialAccount(db, cipher, ws.id, {
    platform: 'bluesky',
    externalId: `did:plc:${randomUUID()}`,
    handle: 'acme.bsky.social',
    credentials: { accessJwt: 'secret-access', refreshJwt: 'secret-refresh' },
  });
  return { ws, user, account };
}

/** Raw SQL rows; `pg` and PGlite both answer `{ rows }`. */
async function query<T>(db: Db, q: SQL): Promise<T[]> {
  return ((await db.execute(q)) as unknown as { rows: T[] }).rows;
}

async function getWorkspaceCount(db: Db, id: string): Promise<number> {
  return (await query<{ n: number }>(db, sql`select count(*)::int as n from workspaces where id = ${id}`))[0]!.n;
}

export function storageContract(name: string, backend: StorageSuiteBackend): void {
  describe(`storage contract: ${name}`, () => {
    let database: Database;
    let db: Db;
    let dispose: () => Promise<void>;
    const k1 = key();
    const cipher = new SecretCipher(new Map([['k1', k1]]), 'k1');

    beforeAll(async () => {
      ({ database, dispose } = await backend.open());
      db = database.db;
    });
    afterAll(async () => {
      await dispose?.();
    });

    describe('migrations', () => {
      it('create every table from an empty database', async () => {
        const rows = await query<{ table_name: string }>(
          db,
          sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
        );
        expect(rows.map((r) => r.table_name)).toEqual(EXPECTED_TABLES);
      });

      it('running them again on a migrated database keeps its data and changes nothing', async () => {
        const store = await backend.persistent();
        try {
          const first = await store.open();
          const ws = await createWorkspace(first.db, { name: 'Kept', slug: slug() });
          await first.close();
          const second = await store.open();
          try {
            expect(await getWorkspaceCount(second.db, ws.id)).toBe(1);
          } finally {
            await second.close();
          }
        } finally {
          await store.cleanup();
        }
      });
    });

    describe('round trips', () => {
      it('bytes: written and read back exactly, and stored as the bytes sent (empty and null too)', async () => {
        const bytes = new Uint8Array(randomBytes(10_000));
        const [row] = await query<{ b: Uint8Array; hex: string; e: Uint8Array; n: null }>(
          db,
          sql`select ${bytes}::bytea as b, encode(${bytes}::bytea, 'hex') as hex,
                     ${new Uint8Array(0)}::bytea as e, ${null}::bytea as n`,
        );
        expect(row!.b).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(row!.b).equals(Buffer.from(bytes))).toBe(true);
        expect(row!.hex).toBe(Buffer.from(bytes).toString('hex'));
        expect(row!.e).toHaveLength(0);
        expect(row!.n).toBeNull();
      });

      it('workspaces, users and memberships', async () => {
        const ws = await createWorkspace(db, { name: 'Round', slug: slug(), timeZone: 'America/New_York' });
        expect(ws.timeZone).toBe('America/New_York');
        const user = await createUser(db, { email: '  Mixed.Case@Example.COM ', displayName: 'Mia' });
        expect(user.email).toBe('mixed.case@example.com');
        expect((await findUserByEmail(db, 'MIXED.case@example.com'))?.id).toBe(user.id);
        await addMember(db, ws.id, user.id, 'editor');
        expect(await getRole(db, ws.id, user.id)).toBe('editor');
        expect((await listMembers(db, ws.id)).map((m) => [m.user.id, m.role])).toEqual([[user.id, 'editor']]);
        expect((await listWorkspacesOfUser(db, user.id)).map((w) => w.workspace.id)).toEqual([ws.id]);
      });

      it('api keys: shown once, stored hashed, resolvable until revoked or expired', async () => {
        const { ws, user } = await seedWorkspace(db, cipher);
        const { key: created, secret } = await createApiKey(db, ws.id, {
          name: 'ci',
          createdBy: user.id,
          scopes: ['posts:write'],
        });
        expect(secret.startsWith(created.prefix)).toBe(true);
        const [{ key_hash: hash }] = (await query<{ key_hash: string }>(
          db,
          sql`select key_hash from api_keys where id = ${created.id}`,
        )) as [{ key_hash: string }];
        expect(hash).not.toContain(secret.slice(3));
        expect((await resolveApiKey(db, secret))?.workspaceId).toBe(ws.id);
        expect(await resolveApiKey(db, secret + 'x')).toBeUndefined();
        await touchApiKey(db, ws.id, created.id, new Date('2026-01-02T03:04:05Z'));
        expect((await listApiKeys(db, ws.id))[0]!.lastUsedAt?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
        expect(await revokeApiKey(db, ws.id, created.id)).toBe(true);
        expect(await revokeApiKey(db, ws.id, created.id)).toBe(false);
        expect(await resolveApiKey(db, secret)).toBeUndefined();

        const expiring = await createApiKey(db, ws.id, { name: 'old', expiresAt: new Date(Date.now() - 1000) });
        expect(await resolveApiKey(db, expiring.secret)).toBeUndefined();
      });

      it('social accounts: reconnecting the same platform account updates it, never duplicates', async () => {
        const { ws, account } = await seedWorkspace(db, cipher);
        const again = await upsertSocialAccount(db, cipher, ws.id, {
          platform: 'bluesky',
          externalId: account.externalId,
          handle: 'acme-renamed.bsky.social',
          credentials: { accessJwt: 'new-access' },
        });
        expect(again.id).toBe(account.id);
        expect(again.handle).toBe('acme-renamed.bsky.social');
        expect(await listSocialAccounts(db, ws.id)).toHaveLength(1);
        expect(await readCredentials(db, cipher, ws.id, account.id)).toEqual({ accessJwt: 'new-access' });
        expect(again).not.toHaveProperty('credentialsCiphertext');
        const exp = new Date('2027-01-01T00:00:00Z');
        expect(await writeCredentials(db, cipher, ws.id, account.id, { accessJwt: 'refreshed' }, exp)).toBe(true);
        expect(await readCredentials(db, cipher, ws.id, account.id)).toEqual({ accessJwt: 'refreshed' });
        expect((await getSocialAccount(db, ws.id, account.id))?.tokenExpiresAt?.toISOString()).toBe(exp.toISOString());
      });

      it('posts with one target per account, in one transaction', async () => {
        const { ws, user, account } = await seedWorkspace(db, cipher);
        const at = new Date('2026-12-01T08:00:00Z');
        const picture = await insertMedia(db, ws.id, {
          storageKey: `media/${randomUUID()}.webp`,
          mimeType: 'image/webp',
          sizeBytes: 1234,
          width: 10,
          height: 20,
          sha256: randomBytes(32).toString('hex'),
          uploadedBy: user.id,
        });
        // Media that is not (or no longer) in the workspace is refused, and nothing is stored.
        await expect(
          createPost(db, ws.id, {
            content: 'ghost',
            targets: [
              { socialAccountId: account.id, platform: 'bluesky', content: 'x', media: [{ mediaId: randomUUID() }] },
            ],
          }),
        ).rejects.toMatchObject({ code: 'not_found' });
        const { post, targets } = await createPost(db, ws.id, {
          authorId: user.id,
          content: 'Summer sale',
          targets: [
            {
              socialAccountId: account.id,
              platform: 'bluesky',
              content: 'Summer sale on Bluesky',
              threadParts: ['part two'],
              media: [{ mediaId: picture.id, altText: 'a beach' }],
              status: 'scheduled',
              scheduledAt: at,
            },
          ],
        });
        const loaded = await getPost(db, ws.id, post.id);
        expect(loaded?.post.content).toBe('Summer sale');
        expect(loaded?.targets).toHaveLength(1);
        expect(loaded?.targets[0]).toMatchObject({
          status: 'scheduled',
          threadParts: ['part two'],
          content: 'Summer sale on Bluesky',
        });
        expect(loaded?.targets[0]!.scheduledAt?.toISOString()).toBe(at.toISOString());
        const inRange = await listTargetsInRange(db, ws.id, {
          from: new Date('2026-12-01T00:00:00Z'),
          to: new Date('2026-12-02T00:00:00Z'),
        });
        expect(inRange.map((t) => t.id)).toEqual([targets[0]!.id]);
        // The status filter: the one status it has, others, none at all; the range's end is open.
        const day = { from: new Date('2026-12-01T00:00:00Z'), to: new Date('2026-12-02T00:00:00Z') };
        const ids = async (r: Parameters<typeof listTargetsInRange>[2]) =>
          (await listTargetsInRange(db, ws.id, r)).map((t) => t.id);
        expect(await ids({ ...day, statuses: ['pending_approval', 'scheduled'] })).toEqual([targets[0]!.id]);
        expect(await ids({ ...day, statuses: ['draft', 'published'] })).toEqual([]);
        expect(await ids({ ...day, statuses: [] })).toEqual([]);
        expect(await ids({ from: day.from, to: at })).toEqual([]);
        expect(await deletePost(db, ws.id, post.id)).toBe(true);
        expect(await getTarget(db, ws.id, targets[0]!.id)).toBeUndefined();
      });

      it('a failed target insert leaves no half-written post behind', async () => {
        const { ws, account } = await seedWorkspace(db, cipher);
        const count = sql`select count(*)::int as n from posts where workspace_id = ${ws.id}`;
        const before = await query(db, count);
        await expect(
          createPost(db, ws.id, {
            content: 'x',
            targets: [
              { socialAccountId: account.id, platform: 'bluesky', content: 'a' },
              { socialAccountId: randomUUID(), platform: 'bluesky', content: 'b' },
            ],
          }),
        ).rejects.toMatchObject({ code: 'not_found' });
        expect(await query(db, count)).toEqual(before);
      });

      it('status moves are compare-and-set: only one of two racing writers wins', async () => {
        const { ws, account } = await seedWorkspace(db, cipher);
        const { targets } = await createPost(db, ws.id, {
          content: 'x',
          targets: [
            {
              socialAccountId: account.id,
              platform: 'bluesky',
              content: 'x',
              status: 'scheduled',
              scheduledAt: new Date(),
            },
          ],
        });
        const id = targets[0]!.id;
        const [a, b] = await Promise.all([
          transitionTarget(db, ws.id, id, ['scheduled'], 'publishing'),
          transitionTarget(db, ws.id, id, ['scheduled'], 'publishing'),
        ]);
        expect([a, b].filter(Boolean)).toHaveLength(1);
        expect((a ?? b)!.version).toBe(2);
        const done = await transitionTarget(db, ws.id, id, ['publishing'], 'published', {
          platformPostId: 'at://x/1',
          publishedAt: new Date(),
        });
        expect(done?.platformPostId).toBe('at://x/1');
      });

      it("content_version moves with every change to a workspace's posts and targets, in the same transaction, and only that workspace's", async () => {
        const version = async (id: string) =>
          (await query<{ v: string }>(db, sql`select content_version::text as v from workspaces where id = ${id}`))[0]!
            .v;
        const a = await seedWorkspace(db, cipher);
        const b = await seedWorkspace(db, cipher);
        const seen = [await version(a.ws.id)];
        const bBefore = await version(b.ws.id);
        const step = async (what: string, change: () => Promise<unknown>) => {
          await change();
          const v = await version(a.ws.id);
          expect(BigInt(v), what).toBeGreaterThan(BigInt(seen.at(-1)!));
          seen.push(v);
        };
        let postId = '';
        let targetId = '';
        await step('insert', async () => {
          const created = await createPost(db, a.ws.id, {
            content: 'x',
            targets: [{ socialAccountId: a.account.id, platform: 'bluesky', content: 'x', status: 'draft' }],
          });
          postId = created.post.id;
          targetId = created.targets[0]!.id;
        });
        await step('target update', () =>
          db.execute(sql`update post_targets set content = 'y' where id = ${targetId}`),
        );
        await step('post update', () => db.execute(sql`update posts set content = 'y' where id = ${postId}`));
        await step('target delete', () => db.execute(sql`delete from post_targets where id = ${targetId}`));
        await step('post delete', () => db.execute(sql`delete from posts where id = ${postId}`));
        // A rolled-back change leaves the version where it was.
        const before = await version(a.ws.id);
        await expect(
          db.transaction(async (tx) => {
            await tx.execute(sql`update posts set content = 'z' where workspace_id = ${a.ws.id}`);
            throw new Error('roll back');
          }),
        ).rejects.toThrow('roll back');
        expect(await version(a.ws.id)).toBe(before);
        expect(await version(b.ws.id)).toBe(bBefore);
      });

      it('publish attempts are numbered per target and all carry the target key', async () => {
        const { ws, account } = await seedWorkspace(db, cipher);
        const { targets } = await createPost(db, ws.id, {
          content: 'x',
          targets: [{ socialAccountId: account.id, platform: 'bluesky', content: 'x' }],
        });
        const t = targets[0]!.id;
        const a1 = await startAttempt(db, ws.id, t, t);
        const a2 = await startAttempt(db, ws.id, t, t);
        expect([a1.attemptNo, a2.attemptNo]).toEqual([1, 2]);
        expect([a1.idempotencyKey, a2.idempotencyKey]).toEqual([t, t]);
        expect(a1.outcome).toBe('pending');
        await finishAttempt(db, ws.id, a1.id, { outcome: 'failed', error: { kind: 'transient', message: '502' } });
        await finishAttempt(db, ws.id, a2.id, { outcome: 'succeeded', platformPostId: 'p1' });
        expect((await listAttempts(db, ws.id, t)).map((a) => [a.attemptNo, a.outcome])).toEqual([
          [2, 'succeeded'],
          [1, 'failed'],
        ]);
      });

      it('media, usage ledger and audit log', async () => {
        const { ws, user } = await seedWorkspace(db, cipher);
        const m = await insertMedia(db, ws.id, {
          storageKey: 'media/abc.webp',
          mimeType: 'image/webp',
          sizeBytes: 1234,
          width: 10,
          height: 20,
          sha256: 'ab'.repeat(32),
          uploadedBy: user.id,
        });
        expect((await getMedia(db, ws.id, m.id))?.storageKey).toBe('media/abc.webp');

        const day = new Date('2026-11-20T10:00:00Z');
        for (const [model, cost] of [
          ['llama3.1:8b', '0'],
          ['claude-sonnet', '0.0125'],
          ['claude-sonnet', '0.00000001'],
        ] as const) {
          await recordUsage(db, ws.id, {
            userId: user.id,
            occurredAt: day,
            taskKind: 'short_draft',
            provider: model.startsWith('claude') ? 'anthropic' : 'ollama',
            model,
            local: !model.startsWith('claude'),
            inputTokens: 100,
            outputTokens: 50,
            costUsd: cost,
          });
        }
        const totals = await summarizeUsage(db, ws.id, {
          from: new Date('2026-11-20T00:00:00Z'),
          to: new Date('2026-11-21T00:00:00Z'),
        });
        expect(totals).toEqual([
          {
            day: '2026-11-20',
            provider: 'anthropic',
            model: 'claude-sonnet',
            calls: 2,
            inputTokens: 200,
            outputTokens: 100,
            costUsd: '0.01250001',
          },
          {
            day: '2026-11-20',
            provider: 'ollama',
            model: 'llama3.1:8b',
            calls: 1,
            inputTokens: 100,
            outputTokens: 50,
            costUsd: '0.00000000',
          },
        ]);

        for (const action of ['post.create', 'post.schedule', 'post.cancel']) {
          await appendAudit(db, ws.id, {
            actorKind: 'user',
            actorId: user.id,
            channel: 'rest',
            action,
            details: { n: 1 },
          });
        }
        const page1 = await listAudit(db, ws.id, { limit: 2 });
        expect(page1.map((e) => e.action)).toEqual(['post.cancel', 'post.schedule']);
        const page2 = await listAudit(db, ws.id, { limit: 2, before: page1[1]!.id });
        expect(page2.map((e) => e.action)).toEqual(['post.create']);
      });
    });

    describe('workspace scoping', () => {
      it("a query with workspace B never returns A's rows", async () => {
        const a = await seedWorkspace(db, cipher);
        const b = await seedWorkspace(db, cipher);
        const { post, targets } = await createPost(db, a.ws.id, {
          content: 'A only',
          targets: [
            {
              socialAccountId: a.account.id,
              platform: 'bluesky',
              content: 'A',
              status: 'scheduled',
              scheduledAt: new Date('2026-12-24T10:00:00Z'),
            },
          ],
        });
        const m = await insertMedia(db, a.ws.id, {
          storageKey: 'k',
          mimeType: 'image/png',
          sizeBytes: 1,
          sha256: 'cd'.repeat(32),
        });
        const { key: apiKey } = await createApiKey(db, a.ws.id, { name: 'a' });
        await appendAudit(db, a.ws.id, { actorKind: 'system', action: 'a.secret' });
        const attempt = await startAttempt(db, a.ws.id, targets[0]!.id, `a-${randomUUID()}`);

        expect(await getPost(db, b.ws.id, post.id)).toBeUndefined();
        expect(await getTarget(db, b.ws.id, targets[0]!.id)).toBeUndefined();
        expect(await listTargetsInRange(db, b.ws.id, { from: new Date(0), to: new Date('2100-01-01') })).toEqual([]);
        expect(await getSocialAccount(db, b.ws.id, a.account.id)).toBeUndefined();
        expect((await listSocialAccounts(db, b.ws.id)).map((x) => x.id)).toEqual([b.account.id]);
        expect(await readCredentials(db, cipher, b.ws.id, a.account.id)).toBeUndefined();
        expect(await writeCredentials(db, cipher, b.ws.id, a.account.id, { stolen: true }, null)).toBe(false);
        expect(await getMedia(db, b.ws.id, m.id)).toBeUndefined();
        expect(await listMedia(db, b.ws.id)).toEqual([]);
        expect(await listApiKeys(db, b.ws.id)).toEqual([]);
        expect(await revokeApiKey(db, b.ws.id, apiKey.id)).toBe(false);
        expect((await listAudit(db, b.ws.id)).map((e) => e.action)).not.toContain('a.secret');
        expect(await listAttempts(db, b.ws.id, targets[0]!.id)).toEqual([]);
        expect(await finishAttempt(db, b.ws.id, attempt.id, { outcome: 'succeeded' })).toBeUndefined();
        expect(await transitionTarget(db, b.ws.id, targets[0]!.id, ['scheduled'], 'cancelled')).toBeUndefined();
        expect(await deletePost(db, b.ws.id, post.id)).toBe(false);
        expect((await getTarget(db, a.ws.id, targets[0]!.id))?.status).toBe('scheduled');
      });

      it("the database refuses a target in B that points at A's account or post", async () => {
        const a = await seedWorkspace(db, cipher);
        const b = await seedWorkspace(db, cipher);
        await expect(
          createPost(db, b.ws.id, {
            content: 'x',
            targets: [{ socialAccountId: a.account.id, platform: 'bluesky', content: 'x' }],
          }),
        ).rejects.toMatchObject({ code: 'not_found' });
        const { post } = await createPost(db, a.ws.id, { content: 'a', targets: [] });
        await expect(
          db.execute(
            sql`insert into post_targets (workspace_id, post_id, social_account_id, platform, content) values (${b.ws.id}, ${post.id}, ${b.account.id}, 'bluesky', 'x')`,
          ),
        ).rejects.toThrow();
      });
    });

    describe('credential encryption', () => {
      it('stores no plaintext and round-trips', async () => {
        const { ws, account } = await seedWorkspace(db, cipher);
        const [row] = (await query<Record<string, string>>(
          db,
          sql`select credentials_ciphertext, credentials_key_id from social_accounts where id = ${account.id}`,
        )) as [Record<string, string>];
        expect(row.credentials_key_id).toBe('k1');
        expect(row.credentials_ciphertext).not.toContain('secret-access');
        expect(Buffer.from(row.credentials_ciphertext!, 'base64').toString('latin1')).not.toContain('secret');
        expect(await readCredentials(db, cipher, ws.id, account.id)).toEqual({
          accessJwt: 'secret-access',
          refreshJwt: 'secret-refresh',
        });
      });

      it('a wrong key fails loudly, and so does an unknown key id', async () => {
        const { ws, account } = await seedWorkspace(db, cipher);
        const wrong = new SecretCipher(new Map([['k1', key()]]), 'k1');
        await expect(readCredentials(db, wrong, ws.id, account.id)).rejects.toMatchObject({
          code: 'crypto_decrypt_failed',
        });
        const other = new SecretCipher(new Map([['k9', key()]]), 'k9');
        await expect(readCredentials(db, other, ws.id, account.id)).rejects.toMatchObject({
          code: 'crypto_key_unknown',
        });
      });

      it("a ciphertext copied into another workspace's row does not decrypt there", async () => {
        const a = await seedWorkspace(db, cipher);
        const b = await seedWorkspace(db, cipher);
        await db.execute(
          sql`update social_accounts set credentials_ciphertext = (select credentials_ciphertext from social_accounts where id = ${a.account.id}) where id = ${b.account.id}`,
        );
        await expect(readCredentials(db, cipher, b.ws.id, b.account.id)).rejects.toMatchObject({
          code: 'crypto_decrypt_failed',
        });
      });

      it('rotation re-encrypts old ciphertexts with the new active key and reports the ones it cannot read', async () => {
        const { ws, account } = await seedWorkspace(db, cipher);
        const broken = await seedWorkspace(db, cipher);
        await db.execute(
          sql`update social_accounts set credentials_ciphertext = ${Buffer.alloc(64, 7).toString('base64')} where id = ${broken.account.id}`,
        );
        const rotated = new SecretCipher(
          new Map([
            ['k1', k1],
            ['k2', key()],
          ]),
          'k2',
        );
        const report = await rotateCredentialKeys(db, rotated, { batch: 2 });
        expect(report.rotated).toBeGreaterThan(1);
        expect(report.failed).toContainEqual({
          workspaceId: broken.ws.id,
          accountId: broken.account.id,
          code: 'crypto_decrypt_failed',
        });
        const byKey = await countByKeyId(db);
        expect(byKey.k2).toBe(report.rotated);
        expect(byKey.k1).toBe(report.failed.length);
        expect(await readCredentials(db, rotated, ws.id, account.id)).toEqual({
          accessJwt: 'secret-access',
          refreshJwt: 'secret-refresh',
        });
        await expect(readCredentials(db, cipher, ws.id, account.id)).rejects.toMatchObject({
          code: 'crypto_key_unknown',
        });
      });
    });

    describe('unique constraints', () => {
      it('are reported as conflict', async () => {
        const { ws, user } = await seedWorkspace(db, cipher);
        await expect(createWorkspace(db, { name: 'dup', slug: ws.slug })).rejects.toMatchObject({ code: 'conflict' });
        await expect(createUser(db, { email: user.email.toUpperCase() })).rejects.toMatchObject({ code: 'conflict' });
        await expect(addMember(db, ws.id, user.id, 'viewer')).rejects.toMatchObject({ code: 'conflict' });
      });
    });
  });
}
