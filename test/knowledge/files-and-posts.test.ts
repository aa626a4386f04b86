/**
 * Files and published posts as knowledge, against a real Chroma, Redis and PGlite: PDF, CSV
 * product catalogues, Markdown and text uploaded over REST are ingested and found; bad files
 * (empty, binary, a PDF without text, oversize...) are refused with a typed error and store
 * nothing; every published post becomes a `past_post` source, filterable by platform and
 * publish time, and later carries its metrics.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPost, schema, type PostTarget } from '../../core/index.js';
import {
  listenForPublishedPosts,
  listSources,
  pastPostMetricsSink,
  updatePastPostMetrics,
  type SourceView,
} from '../../knowledge/index.js';
import { emitStatus } from '../../tools/scheduling/context.js';
import type { ApiEnv, Person } from '../helpers/api-env.js';
import {
  ownerContext,
  searchOverRest,
  startKnowledgeApi,
  waitForIngest,
  type KnowledgeEnv,
  type KnowledgeApi,
} from './knowledge-env.js';

const UPLOAD_MAX_BYTES = 256 * 1024;

let stack: KnowledgeApi;
let kenv: KnowledgeEnv;
let api: ApiEnv;
let a: Person;
let unlisten: () => Promise<void>;

beforeAll(async () => {
  ({ kenv, api } = stack = await startKnowledgeApi({ uploadMaxBytes: UPLOAD_MAX_BYTES }));
  unlisten = await listenForPublishedPosts(api.env.events, kenv.deps.queue);
  a = await api.signUp();
}, 60_000);

afterAll(async () => {
  await unlisten?.();
  await stack?.close(a ? [a.workspaceId] : []);
});

const ctxOf = ownerContext;

/** A minimal PDF: one page per entry, each showing its text in Helvetica (or nothing when null). */
function pdf(pages: Array<string | null>): Buffer {
  const objs: string[] = ['<< /Type /Catalog /Pages 2 0 R >>'];
  const kids = pages.map((_, i) => `${3 + i * 2} 0 R`).join(' ');
  objs.push(`<< /Type /Pages /Kids [${kids}] /Count ${pages.length} >>`);
  const font = 3 + pages.length * 2;
  pages.forEach((text, i) => {
    const stream = text === null ? '' : `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
    objs.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${4 + i * 2} 0 R /Resources << /Font << /F1 ${font} 0 R >> >> >>`,
    );
    objs.push(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
  });
  objs.push('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objs.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  out += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** A multipart/form-data body with `file` and the given fields. */
function form(file: { name: string; type: string; bytes: Buffer }, fields: Record<string, string> = {}) {
  const boundary = `----herald${randomUUID()}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields))
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  parts.push(
    Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${file.name}"\r\ncontent-type: ${file.type}\r\n\r\n`,
    ),
    file.bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

async function upload(
  p: Person,
  file: { name: string; type: string; bytes: Buffer },
  fields: Record<string, string> = {},
) {
  const body = form(file, fields);
  return api.app.inject({
    method: 'POST',
    url: '/v1/knowledge/sources/upload',
    headers: { ...p.auth, ...body.headers },
    payload: body.payload,
  });
}

async function uploaded(p: Person, file: { name: string; type: string; bytes: Buffer }, fields = {}) {
  const res = await upload(p, file, fields);
  expect(res.statusCode, res.body).toBe(202);
  return waitForIngest(kenv.deps, ctxOf(p), (res.json() as SourceView).id);
}

const search = (p: Person, q: string, extra = '') => searchOverRest(api.app, p, q, extra);

describe('uploaded files', () => {
  it('a PDF is ingested from its text layer, one section per page, and search cites it', async () => {
    const source = await uploaded(a, {
      name: 'glazes.pdf',
      type: 'application/pdf',
      bytes: pdf(['Celadon is a pale green glaze.', 'Tenmoku glaze breaks rust brown on the rims.']),
    });
    expect(source).toMatchObject({
      status: 'ready',
      format: 'pdf',
      docType: 'note',
      title: 'glazes.pdf',
      chunkCount: 2,
      metadata: { pages: 2, fileName: 'glazes.pdf' },
    });
    const [hit] = await search(a, 'tenmoku rust');
    expect(hit).toMatchObject({ heading: 'Page 2', source: { id: source.id, title: 'glazes.pdf' } });
    expect(hit!.text).toContain('Tenmoku glaze breaks rust brown');
  });

  it('a CSV catalogue becomes one product chunk per row, with its columns', async () => {
    const csv = [
      'name,price,colour,description',
      'Tagus mug,24,cobalt blue,Holds 350 ml',
      'Alfama teapot,58,white,"Holds one litre, with a bamboo handle"',
      ',,,',
      'Douro bowl,31,sage,For ramen',
    ].join('\n');
    const source = await uploaded(
      a,
      { name: 'catalogue.csv', type: 'text/csv', bytes: Buffer.from(csv) },
      { title: 'Autumn catalogue', metadata: '{"season":"autumn"}' },
    );
    expect(source).toMatchObject({
      status: 'ready',
      format: 'csv',
      docType: 'product',
      title: 'Autumn catalogue',
      chunkCount: 3,
      metadata: { rows: 3, columns: ['name', 'price', 'colour', 'description'], season: 'autumn' },
    });
    const [hit] = await search(a, 'bamboo handle teapot', '&type=product');
    expect(hit).toMatchObject({ heading: 'Alfama teapot', source: { id: source.id } });
    expect(hit!.text).toBe(
      'Alfama teapot\n\nname: Alfama teapot\nprice: 58\ncolour: white\ndescription: Holds one litre, with a bamboo handle',
    );
  });

  it('Markdown and text files are ingested as such', async () => {
    const md = await uploaded(a, {
      name: 'voice.md',
      type: 'text/markdown',
      bytes: Buffer.from('# Voice\n\nWe never say synergy.\n\n# Emoji\n\nOne per post, at most.'),
    });
    expect(md).toMatchObject({ status: 'ready', format: 'markdown', chunkCount: 2 });
    const txt = await uploaded(
      a,
      { name: 'notes.txt', type: 'text/plain', bytes: Buffer.from('Market day is Saturday in Porto.') },
      { docType: 'brand_guide' },
    );
    expect(txt).toMatchObject({ status: 'ready', format: 'text', docType: 'brand_guide', chunkCount: 1 });
    expect((await search(a, 'synergy'))[0]).toMatchObject({ heading: 'Voice', source: { id: md.id } });
  });

  it('empty, binary, text-less PDF, fake PDF, row-less CSV and oversize files are refused and store nothing', async () => {
    const before = await listSources(kenv.deps, ctxOf(a), { limit: 500 });
    const chunksBefore = await kenv.deps.store.countChunks(a.workspaceId);
    const binary = Buffer.alloc(4096);
    for (let i = 0; i < binary.length; i++) binary[i] = (i * 7919) % 256;
    const cases = [
      { file: { name: 'empty.txt', type: 'text/plain', bytes: Buffer.alloc(0) }, status: 422, reason: 'empty' },
      { file: { name: 'photo.txt', type: 'text/plain', bytes: binary }, status: 422, reason: 'binary' },
      { file: { name: 'scan.pdf', type: 'application/pdf', bytes: pdf([null, null]) }, status: 422, reason: 'no_text' },
      {
        file: { name: 'fake.pdf', type: 'application/pdf', bytes: Buffer.from('hello') },
        status: 422,
        reason: 'not_pdf',
      },
      {
        file: { name: 'broken.pdf', type: 'application/pdf', bytes: Buffer.from('%PDF-1.4 not really') },
        status: 422,
        reason: 'not_pdf',
      },
      {
        file: { name: 'header.csv', type: 'text/csv', bytes: Buffer.from('name,price\n') },
        status: 422,
        reason: 'empty',
      },
      {
        file: { name: 'huge.txt', type: 'text/plain', bytes: Buffer.alloc(UPLOAD_MAX_BYTES + 1, 'a') },
        status: 413,
        code: 'knowledge_input_too_large',
      },
    ];
    for (const c of cases) {
      const res = await upload(a, c.file);
      expect(res.statusCode, `${c.file.name}: ${res.body}`).toBe(c.status);
      const body = res.json() as { error: { code: string; details?: { reason?: string; maxBytes?: number } } };
      if (c.reason)
        expect(body.error, c.file.name).toMatchObject({
          code: 'knowledge_input_invalid',
          details: { reason: c.reason },
        });
      else expect(body.error).toMatchObject({ code: c.code, details: { maxBytes: UPLOAD_MAX_BYTES } });
    }
    // A form without a file, and a JSON `pdf` source, are request errors.
    const noFile = await api.app.inject({
      method: 'POST',
      url: '/v1/knowledge/sources/upload',
      headers: { ...a.auth, 'content-type': 'application/json' },
      payload: { docType: 'note' },
    });
    expect(noFile.statusCode).toBe(415);
    expect(await listSources(kenv.deps, ctxOf(a), { limit: 500 })).toEqual(before);
    expect(await kenv.deps.store.countChunks(a.workspaceId)).toBe(chunksBefore);
  });
});

describe('published posts', () => {
  async function published(platform: string, content: string, at: Date): Promise<PostTarget> {
    const accountId = await api.env.addAccount(a.workspaceId, {
      platform,
      externalId: randomUUID(),
      handle: `acme-${platform}`,
      credentials: {},
    });
    const { targets } = await createPost(api.env.database.db, a.workspaceId, {
      content,
      targets: [{ socialAccountId: accountId, platform, content, threadParts: ['Second part of the thread.'] }],
    });
    // As the publishing worker leaves it, then announces it.
    const target = {
      ...targets[0]!,
      status: 'published' as const,
      publishedAt: at,
      platformUrl: `https://${platform}.example/p/1`,
    };
    await api.env.database.db
      .update(schema.postTargets)
      .set({ status: 'published', publishedAt: at, platformUrl: target.platformUrl })
      .where(eq(schema.postTargets.id, target.id));
    await emitStatus(api.env.events, target, 'publishing');
    return target;
  }

  async function pastPosts(count: number): Promise<SourceView[]> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const items = await listSources(kenv.deps, ctxOf(a), { types: ['past_post'] });
      if (items.length >= count && items.every((s) => s.status === 'ready')) return items;
      if (Date.now() > deadline) throw new Error(`past posts: ${JSON.stringify(items.map((s) => s.status))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('each becomes a past_post, filterable by platform and publish time, and later carries its metrics', async () => {
    const blue = await published(
      'bluesky',
      'Our kiln opening is on Friday, come see the raku firing.',
      new Date('2026-10-02T09:00:00Z'),
    );
    const masto = await published('mastodon', 'Raku firing tonight at the studio.', new Date('2026-11-10T18:00:00Z'));
    const sources = await pastPosts(2);
    expect(sources).toHaveLength(2);
    const blueSource = sources.find((s) => s.metadata.targetId === blue.id)!;
    expect(blueSource).toMatchObject({
      docType: 'past_post',
      url: 'https://bluesky.example/p/1',
      metadata: { platform: 'bluesky', publishedAt: '2026-10-02T09:00:00.000Z', postId: blue.postId },
    });

    // Hearing the same event again queues nothing new.
    await emitStatus(api.env.events, blue, 'publishing');

    const both = await search(a, 'raku firing', '&type=past_post');
    expect(both.map((h) => h.source.platform).sort()).toEqual(['bluesky', 'mastodon']);
    const onMastodon = await search(a, 'raku firing', '&platform=mastodon');
    expect(onMastodon.map((h) => h.source.id)).toEqual([sources.find((s) => s.metadata.targetId === masto.id)!.id]);
    // Dated by publication, not by when the source row was written.
    const october = await search(a, 'raku firing', `&from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z`);
    expect(october.map((h) => h.source.id)).toEqual([blueSource.id]);
    expect(october[0]!.source.publishedAt).toBe('2026-10-02T09:00:00.000Z');
    expect(october[0]!.text).toContain('Second part of the thread.');

    const updated = await updatePastPostMetrics(
      kenv.deps,
      ctxOf(a),
      blue.id,
      { likes: 42, reposts: 7 },
      new Date('2026-10-05T00:00:00Z'),
    );
    expect(updated.generation).toBe(blueSource.generation + 1);
    await waitForIngest(kenv.deps, ctxOf(a), blueSource.id, updated.generation);
    const [hit] = await search(a, 'kiln opening raku', '&platform=bluesky');
    expect(hit!.source.metrics).toEqual({ likes: 42, reposts: 7 });
    expect(hit!.text).toContain('Performance (as of 2026-10-05): likes 42, reposts 7.');
    expect(await pastPosts(2)).toHaveLength(2);
    await expect(updatePastPostMetrics(kenv.deps, ctxOf(a), randomUUID(), { likes: 1 })).rejects.toMatchObject({
      code: 'not_found',
    });

    // Analytics' sink: the next snapshot's counters merge in, as Herald itself; an unknown target is skipped.
    const sink = pastPostMetricsSink(kenv.deps);
    await sink({
      workspaceId: a.workspaceId,
      targetId: blue.id,
      metrics: { likes: 50, replies: 3 },
      at: new Date('2026-10-09T00:00:00Z'),
    });
    await sink({ workspaceId: a.workspaceId, targetId: randomUUID(), metrics: { likes: 1 }, at: new Date() });
    // Another workspace's sink call cannot reach this post.
    await sink({ workspaceId: randomUUID(), targetId: blue.id, metrics: { likes: 999 }, at: new Date() });
    await waitForIngest(kenv.deps, ctxOf(a), blueSource.id, updated.generation + 1);
    const [after] = await search(a, 'kiln opening raku', '&platform=bluesky');
    expect(after!.source.metrics).toEqual({ likes: 50, reposts: 7, replies: 3 });
    expect(after!.text).toContain('Performance (as of 2026-10-09): likes 50, reposts 7, replies 3.');
  });
});
