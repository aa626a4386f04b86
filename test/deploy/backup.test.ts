/**
 * `npm run backup` then `npm run restore` into a fresh DATA_DIR (and, on PostgreSQL, a fresh
 * database): the restored Herald has the same posts, the same media bytes, the same knowledge
 * search results and account tokens that still decrypt. Herald's real runtime writes the data
 * (PGlite or PostgreSQL, embedded Chroma, the test Redis); the scripts run as child processes,
 * as a self-hoster runs them.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addMember,
  createLogger,
  createPost,
  createUser,
  createWorkspace,
  loadConfig,
  openDatabase,
  readCredentials,
  schema,
  upsertSocialAccount,
} from '../../core/index.js';
import {
  createSource,
  getSource,
  searchKnowledge,
  startChroma,
  type KnowledgeContext,
  type SearchHit,
} from '../../knowledge/index.js';
import { startRuntime, type Runtime } from '../../server/runtime.js';
import { uploadMedia } from '../../tools/media/index.js';
import { TEST_DATABASE_URL } from '../helpers/databases.js';
import { REPO_ROOT } from '../helpers/herald-process.js';
import { solidPng } from '../helpers/media-fixtures.js';
import { waitFor } from '../helpers/processes.js';
import { REDIS_URL } from '../helpers/publishing-env.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function freshDatabase(): Promise<string> {
  const name = `herald_backup_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`);
    await c.end();
  });
  const url = new URL(TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `npm run <script>`'s command the way npm does, with only this environment. */
function runScript(
  script: 'backup' | 'restore',
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', `scripts/${script}.ts`, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

const logger = createLogger({ level: 'silent' });
const QUERY = 'sourdough starter hydration';

interface Snapshot {
  posts: unknown[];
  media: Array<{ id: string; sha256: string; bytesSha256: string }>;
  search: Array<Pick<SearchHit, 'chunkId' | 'text' | 'score' | 'similarity'>>;
  token: unknown;
}

/** What a person would check after a restore: posts, media bytes, knowledge answers, tokens. */
async function snapshot(rt: Runtime, ctx: KnowledgeContext, accountId: string): Promise<Snapshot> {
  const db = rt.database.db;
  const posts = await db
    .select({ id: schema.posts.id, content: schema.posts.content, tags: schema.posts.tags })
    .from(schema.posts)
    .where(eq(schema.posts.workspaceId, ctx.workspaceId));
  const targets = await db
    .select({ id: schema.postTargets.id, content: schema.postTargets.content, media: schema.postTargets.media })
    .from(schema.postTargets)
    .where(eq(schema.postTargets.workspaceId, ctx.workspaceId));
  const media = [];
  for (const m of await db.select().from(schema.media).where(eq(schema.media.workspaceId, ctx.workspaceId))) {
    const bytes = await rt.mediaStore.get(m.storageKey);
    media.push({ id: m.id, sha256: m.sha256, bytesSha256: createHash('sha256').update(bytes).digest('hex') });
  }
  const hits = await searchKnowledge(rt.knowledge, ctx, QUERY);
  return {
    posts: [...posts, ...targets].sort((a, b) => a.id.localeCompare(b.id)),
    media: media.sort((a, b) => a.id.localeCompare(b.id)),
    search: hits.map((h) => ({ chunkId: h.chunkId, text: h.text, score: h.score, similarity: h.similarity })),
    token: await readCredentials(db, rt.cipher, ctx.workspaceId, accountId),
  };
}

describe.each([
  { kind: 'pglite', skip: false },
  { kind: 'postgres', skip: !TEST_DATABASE_URL },
])('backup and restore ($kind)', ({ kind, skip }) => {
  it.skipIf(skip)(
    'restoring into a fresh DATA_DIR gives the same posts, media, knowledge search results and decryptable tokens',
    async () => {
      const [before, after, backups] = [
        await tempDir('herald-bk-a-'),
        await tempDir('herald-bk-b-'),
        await tempDir('herald-bk-out-'),
      ];
      const base = {
        REDIS_URL,
        REDIS_AUTOSTART: 'false',
        LOG_LEVEL: 'silent',
        CHILD_START_TIMEOUT_MS: '60000',
      };
      const envA: Record<string, string> = {
        ...base,
        DATA_DIR: before,
        QUEUE_PREFIX: `bka${randomBytes(3).toString('hex')}`,
        ...(kind === 'postgres' ? { DATABASE_URL: await freshDatabase() } : {}),
      };
      const envB: Record<string, string> = {
        ...base,
        DATA_DIR: after,
        QUEUE_PREFIX: `bkb${randomBytes(3).toString('hex')}`,
        ...(kind === 'postgres' ? { DATABASE_URL: await freshDatabase() } : {}),
      };

      // A Herald with a workspace, an account with tokens, media, a post using both, knowledge.
      const rt = await startRuntime(loadConfig({ env: envA, readDotenv: false }), logger);
      let original: Snapshot;
      let ctx: KnowledgeContext;
      let accountId: string;
      try {
        const db = rt.database.db;
        const ws = await createWorkspace(db, { name: 'Bakery', slug: `bakery-${randomBytes(3).toString('hex')}` });
        const user = await createUser(db, { email: `owner-${randomBytes(3).toString('hex')}@example.com` });
        await addMember(db, ws.id, user.id, 'owner');
        ctx = { workspaceId: ws.id, userId: user.id, role: 'owner', channel: 'rest' };
        const account = await upsertSocialAccount(db, rt.cipher, ws.id, {
          platform: 'mastodon',
          externalId: '109',
          handle: '@bakery@example.social',
          credentials: { accessToken: `token-${randomBytes(8).toString('hex')}`, instance: 'https://example.social' },
        });
        accountId = account.id;
        const mediaDeps = { db, store: rt.mediaStore, maxBytes: 5_000_000 };
        const photo = await uploadMedia(mediaDeps, ctx, { data: await solidPng(64, 48, '#aa7733') });
        const other = await uploadMedia(mediaDeps, ctx, { data: await solidPng(32, 32, '#2255ee') });
        await createPost(db, ws.id, {
          authorId: user.id,
          content: 'Fresh loaves at 7',
          tags: ['bread'],
          targets: [
            {
              socialAccountId: account.id,
              platform: 'mastodon',
              content: 'Fresh loaves at 7 🍞',
              media: [{ mediaId: photo.media.id, altText: 'a loaf' }, { mediaId: other.media.id }],
            },
          ],
        });
        for (const [title, text] of [
          ['Starter', 'Our sourdough starter is fed twice a day; hydration stays at 100 percent.'],
          ['Opening hours', 'The bakery opens at 7 and closes at 15, Tuesday to Sunday.'],
          ['Rye', 'Rye bread takes a longer proof and a hotter oven than wheat.'],
        ] as const) {
          const source = await createSource(rt.knowledge, ctx, { docType: 'note', format: 'text', title, text });
          await waitFor(
            async () => (await getSource(rt.knowledge, ctx, source.id)).status === 'ready',
            60_000,
            `knowledge source ${title} to be ready`,
          );
        }
        original = await snapshot(rt, ctx, accountId);
      } finally {
        await rt.close();
      }
      expect(original.media).toHaveLength(2);
      expect(original.search.length).toBeGreaterThan(0);
      expect(String(original.search[0]!.text)).toMatch(/sourdough starter/);

      const made = await runScript('backup', ['--out', backups], envA);
      expect(made.stderr).toMatch(/backup: media: 2 objects/);
      expect(made.code).toBe(0);
      const folder = made.stdout.trim();
      expect(path.dirname(folder)).toBe(backups);
      expect(await readdir(backups)).toEqual([path.basename(folder)]);
      // The backup can decrypt tokens (it holds keys.json): only its owner may read the manifest-level secrets.
      expect((await stat(path.join(folder, 'keys.json'))).mode & 0o077).toBe(0);

      const restored = await runScript('restore', [folder], envB);
      expect(restored.stderr).toMatch(/credentials: all 1 stored account credentials decrypt/);
      expect(restored.code).toBe(0);

      const rt2 = await startRuntime(loadConfig({ env: envB, readDotenv: false }), logger);
      try {
        expect(await snapshot(rt2, ctx!, accountId!)).toEqual(original);
      } finally {
        await rt2.close();
      }

      // Restoring again over the data now there is refused, not merged.
      const again = await runScript('restore', [folder], envB);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/restore failed: .*(already holds|already has)/);

      // A nightly run with --keep 1 leaves only the newest backup. (Names have second precision.)
      await new Promise((r) => setTimeout(r, 1_100));
      const next = await runScript('backup', ['--out', backups, '--keep', '1'], envA);
      expect(next.code).toBe(0);
      expect(await readdir(backups)).toEqual([path.basename(next.stdout.trim())]);
      expect(next.stdout.trim()).not.toBe(folder);
    },
    240_000,
  );
});

describe('backup refusals', () => {
  it('refuses to copy PGlite and the embedded Chroma while a Herald runs on that DATA_DIR', async () => {
    const dataDir = await tempDir('herald-bk-live-');
    // What a running `npm start` leaves in DATA_DIR: its embedded Chroma, with a pid file.
    const chroma = await startChroma({ url: undefined, dataDir, startTimeoutMs: 60_000, logger });
    try {
      const res = await runScript('backup', ['--out', path.join(dataDir, 'out')], {
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
      });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/backup failed: Herald is running on .* stop it first/);
    } finally {
      await chroma.stop();
    }
  }, 120_000);

  it('refuses to copy a PGlite directory another process has open, and copies it once closed', async () => {
    const dataDir = await tempDir('herald-bk-pglite-open-');
    const chroma = await startChroma({
      url: undefined,
      dataDir: await tempDir('herald-bk-chroma-'),
      startTimeoutMs: 60_000,
      logger,
    });
    cleanups.push(() => chroma.stop());
    // A Herald on PGlite with an outside Chroma: no embedded-service pid file, only the database.
    const env = { DATA_DIR: dataDir, CHROMA_URL: chroma.url, LOG_LEVEL: 'silent' };
    const database = await openDatabase({ kind: 'pglite', dir: path.join(dataDir, 'pg') });
    const open = await runScript('backup', ['--out', path.join(dataDir, 'out')], env);
    expect(open.code).toBe(1);
    expect(open.stderr).toMatch(/Herald is running on .*pg\.pid.* stop it first/);
    await database.close();
    const closed = await runScript('backup', ['--out', path.join(dataDir, 'out')], env);
    expect(closed.stderr).toMatch(/backup: database: pglite/);
    expect(closed.code).toBe(0);
  }, 120_000);

  it('a backup made by a newer Herald (more migrations than this one knows) is refused', async () => {
    const dataDir = await tempDir('herald-bk-newer-');
    const folder = await tempDir('herald-bk-folder-');
    const manifest = {
      format: 1,
      createdAt: new Date().toISOString(),
      database: { kind: 'pglite', file: 'database.pglite.tar.gz', migrations: 999 },
      media: { count: 0, bytes: 0 },
      keys: { from: 'none' },
      chroma: { collections: [] },
    };
    await writeFile(path.join(folder, 'manifest.json'), JSON.stringify(manifest));
    const res = await runScript('restore', [folder], { DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/made by a newer Herald \(999 migrations; this one knows \d+\)/);
  });

  it('a folder that is not a backup is refused with a clear message', async () => {
    const dataDir = await tempDir('herald-bk-none-');
    const res = await runScript('restore', [dataDir], { DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/is not a Herald backup \(no readable manifest.json\)/);
  });
});
