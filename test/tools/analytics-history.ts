/**
 * Synthetic history for analytics tests: a workspace on in-memory PGlite with one account,
 * and published posts with a stored metrics snapshot each, written straight to the tables
 * the collector fills (so best-time and what-works read exactly what collection stores).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  addMember,
  createUser,
  createWorkspace,
  openDatabase,
  schema,
  SecretCipher,
  upsertSocialAccount,
  type Database,
} from '../../core/index.js';
import type { ServiceContext } from '../../tools/scheduling/index.js';

export interface HistoryPost {
  publishedAt: Date;
  content: string;
  threadParts?: string[];
  media?: number;
  likes: number;
}

export async function openHistory(): Promise<{ database: Database; cipher: SecretCipher }> {
  return {
    database: await openDatabase({ kind: 'pglite' }),
    cipher: new SecretCipher(new Map([['t1', randomBytes(32)]]), 't1'),
  };
}

export async function workspaceWithAccount(
  h: { database: Database; cipher: SecretCipher },
  opts: { timeZone?: string; platform?: string; role?: ServiceContext['role'] } = {},
) {
  const timeZone = opts.timeZone ?? 'Europe/Paris';
  const db = h.database.db;
  const ws = await createWorkspace(db, { name: 'T', slug: `t-${randomUUID().slice(0, 12)}`, timeZone });
  const user = await createUser(db, { email: `${randomUUID()}@example.com`, timeZone });
  await addMember(db, ws.id, user.id, 'owner');
  const platform = opts.platform ?? 'mastodon';
  const account = await upsertSocialAccount(db, h.cipher, ws.id, {
    platform,
    externalId: randomUUID(),
    handle: `h${randomUUID().slice(0, 6)}`,
    credentials: { accessToken: 'x' },
  });
  const ctx: ServiceContext = {
    workspaceId: ws.id,
    userId: user.id,
    role: opts.role ?? 'owner',
    timeZone,
    channel: 'rest',
  };
  return { ctx, accountId: account.id, platform };
}

/** Writes the posts as published targets, each with one `ok` snapshot holding its likes. */
export async function addHistory(
  h: { database: Database },
  ws: { ctx: ServiceContext; accountId: string; platform: string },
  posts: HistoryPost[],
): Promise<void> {
  const db = h.database.db;
  for (let i = 0; i < posts.length; i += 200) {
    const batch = posts.slice(i, i + 200);
    const postRows = await db
      .insert(schema.posts)
      .values(batch.map((p) => ({ workspaceId: ws.ctx.workspaceId, content: p.content })))
      .returning({ id: schema.posts.id });
    const targetRows = await db
      .insert(schema.postTargets)
      .values(
        batch.map((p, j) => ({
          workspaceId: ws.ctx.workspaceId,
          postId: postRows[j]!.id,
          socialAccountId: ws.accountId,
          platform: ws.platform,
          content: p.content,
          threadParts: p.threadParts ?? [],
          media: Array.from({ length: p.media ?? 0 }, () => ({ mediaId: randomUUID() })),
          status: 'published' as const,
          scheduledAt: p.publishedAt,
          publishedAt: p.publishedAt,
          platformPostId: randomUUID(),
        })),
      )
      .returning({ id: schema.postTargets.id });
    await db.insert(schema.metricSnapshots).values(
      batch.map((p, j) => ({
        workspaceId: ws.ctx.workspaceId,
        targetId: targetRows[j]!.id,
        socialAccountId: ws.accountId,
        platform: ws.platform,
        stage: '7d',
        status: 'ok' as const,
        likes: p.likes,
        reposts: 0,
        replies: 0,
        fetchedAt: new Date(p.publishedAt.getTime() + 7 * 86_400_000),
      })),
    );
  }
}

/** A seeded pseudo-random generator (mulberry32), so planted-effect tests are repeatable. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
