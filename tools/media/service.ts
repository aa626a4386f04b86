/**
 * The media library of a workspace: upload (type sniffed from the bytes, size limit enforced
 * while streaming, images normalised, videos' metadata boxes blanked), read, list, alt text
 * and delete. Identical bytes uploaded twice to one workspace are one record. Bytes are
 * shared between workspaces by content address and deleted only when no record anywhere
 * names them. Every change leaves an audit record.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  deleteMedia,
  digestOf,
  getMedia,
  HeraldError,
  insertMedia,
  type ByteRange,
  type Db,
  type Media,
  type MediaSource,
  type schema,
} from '../../core/index.js';
import { audit, requireRole, type MediaContext, type MediaDeps } from './context.js';
import { sniffFormat, type MediaFormat } from './formats.js';
import { normaliseImage } from './image.js';
import { probeVideo } from './probe.js';
import {
  findBySha,
  listPage,
  lockContent,
  lockMediaRow,
  publishableReferences,
  setAltText,
  storageKeyInUse,
  type MediaCursor,
} from './records.js';
import { stageUpload, tooLarge, type StagedUpload } from './staging.js';

/** Longest alt text kept (Mastodon's limit; the tightest platform is checked at schedule time). */
export const ALT_TEXT_MAX = 1500;

/** What callers see of a media record (the storage key stays internal). */
export interface MediaView {
  id: string;
  kind: 'image' | 'video';
  mimeType: string;
  sizeBytes: number;
  width: number | null;
  height: number | null;
  durationMs: number | null;
  /** For videos: codecs, rotation, frame rate and what could not be read (null for images). */
  probe: schema.MediaProbe | null;
  sha256: string;
  altText: string | null;
  uploadedBy: string | null;
  createdAt: Date;
}

export const viewOf = (row: Media): MediaView => ({
  id: row.id,
  kind: row.mimeType.startsWith('video/') ? 'video' : 'image',
  mimeType: row.mimeType,
  sizeBytes: row.sizeBytes,
  width: row.width,
  height: row.height,
  durationMs: row.durationMs,
  probe: row.probe ?? null,
  sha256: row.sha256,
  altText: row.altText,
  uploadedBy: row.uploadedBy,
  createdAt: row.createdAt,
});

export interface UploadInput {
  /** The bytes: a stream (never read past the limit), a buffer, or an upload already staged (consumed). */
  data: Readable | Buffer | StagedUpload;
  /** As the client named it; recorded in the audit log only. */
  filename?: string | undefined;
  /** As the client declared it; never trusted, recorded in the audit log only. */
  declaredType?: string | undefined;
  altText?: string | null | undefined;
}

const isStaged = (data: UploadInput['data']): data is StagedUpload =>
  !Buffer.isBuffer(data) && typeof (data as StagedUpload).dispose === 'function' && 'sha256' in data;

function cleanAltText(altText: string | null | undefined): string | null {
  const text = altText?.trim() ?? '';
  if (text.length > ALT_TEXT_MAX) {
    throw new HeraldError('validation_failed', {
      message: `Alt text is ${text.length} characters; at most ${ALT_TEXT_MAX} are kept`,
      details: { issues: [{ path: ['altText'], message: `at most ${ALT_TEXT_MAX} characters` }] },
    });
  }
  return text || null;
}

/** The bytes to store for an upload, after normalisation, and what was learnt on the way. */
async function prepare(
  staged: StagedUpload,
  format: MediaFormat,
  ffprobePath: string | null | undefined,
): Promise<{
  source: MediaSource;
  sha256: string;
  width: number | null;
  height: number | null;
  durationMs: number | null;
  probe: schema.MediaProbe | null;
}> {
  if (format.kind === 'image') {
    const image = await normaliseImage(staged.path, format);
    return {
      source: image.bytes,
      sha256: createHash('sha256').update(image.bytes).digest('hex'),
      width: image.width,
      height: image.height,
      durationMs: null,
      probe: null,
    };
  }
  // WebM is stored as uploaded (read by ffprobe when present); MP4 and QuickTime lose their location boxes.
  const facts = await probeVideo(staged.path, format, { ffprobePath });
  const sha256 = facts.blanked > 0 ? (await digestOf({ file: staged.path })).sha256 : staged.sha256;
  return {
    source: { file: staged.path },
    sha256,
    width: facts.width,
    height: facts.height,
    durationMs: facts.durationMs,
    probe: facts.probe,
  };
}

/**
 * Uploads one file into the caller's workspace (editor or above). Answers the new record
 * (`created: true`) or, when the workspace already has these exact bytes, the existing one.
 */
export async function uploadMedia(
  deps: MediaDeps,
  ctx: MediaContext,
  input: UploadInput,
): Promise<{ media: MediaView; created: boolean }> {
  const given = isStaged(input.data) ? input.data : null;
  try {
    requireRole(ctx, 'editor'); // before a byte is read
  } catch (err) {
    await given?.dispose();
    throw err;
  }
  const staged =
    given ?? (await stageUpload(input.data as Readable | Buffer, { maxBytes: deps.maxBytes, dir: deps.stagingDir }));
  try {
    const altText = cleanAltText(input.altText);
    if (staged.sizeBytes > deps.maxBytes) throw tooLarge(deps.maxBytes);
    if (staged.sizeBytes === 0) throw new HeraldError('media_invalid', { message: 'The file is empty' });
    const format = await sniffFormat(staged.path);
    const prepared = await prepare(staged, format, deps.ffprobePath);

    return await deps.db.transaction(async (tx) => {
      await lockContent(tx, prepared.sha256);
      const existing = await findBySha(tx, ctx.workspaceId, prepared.sha256);
      if (existing) return { media: viewOf(existing), created: false };
      const stored = await deps.store.put(prepared.source, {
        extension: format.extension,
        contentType: format.mimeType,
      });
      if (stored.sha256 !== prepared.sha256) throw new Error('media bytes changed while being stored');
      const row = await insertMedia(tx, ctx.workspaceId, {
        uploadedBy: ctx.userId,
        storageKey: stored.key,
        mimeType: format.mimeType,
        sizeBytes: stored.sizeBytes,
        width: prepared.width,
        height: prepared.height,
        durationMs: prepared.durationMs,
        probe: prepared.probe,
        sha256: stored.sha256,
        altText,
      });
      await audit(tx, ctx, 'media.upload', row.id, {
        mimeType: row.mimeType,
        sizeBytes: row.sizeBytes,
        uploadedBytes: staged.sizeBytes,
        sha256: row.sha256,
        ...(input.filename ? { filename: input.filename.slice(0, 255) } : {}),
        ...(input.declaredType ? { declaredType: input.declaredType.slice(0, 100) } : {}),
      });
      return { media: viewOf(row), created: true };
    });
  } finally {
    await staged.dispose();
  }
}

async function mustGet(db: Db, ctx: MediaContext, mediaId: string): Promise<Media> {
  const row = await getMedia(db, ctx.workspaceId, mediaId);
  // Another workspace's id reads exactly like a missing one.
  if (!row) throw new HeraldError('not_found', { message: `No media ${mediaId} in this workspace` });
  return row;
}

export async function getMediaRecord(deps: MediaDeps, ctx: MediaContext, mediaId: string): Promise<MediaView> {
  requireRole(ctx, 'viewer');
  return viewOf(await mustGet(deps.db, ctx, mediaId));
}

const encodeCursor = (c: MediaCursor) => Buffer.from(`${c.createdAt}|${c.id}`, 'utf8').toString('base64url');

function decodeCursor(cursor: string): MediaCursor {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const bar = text.lastIndexOf('|');
  const createdAt = text.slice(0, bar);
  const id = text.slice(bar + 1);
  if (
    bar < 0 ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(createdAt) ||
    Number.isNaN(Date.parse(createdAt)) ||
    !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
  ) {
    throw new HeraldError('validation_failed', {
      message: 'The cursor is not one this API returned',
      details: { issues: [{ path: ['cursor'], message: 'invalid cursor' }] },
    });
  }
  return { createdAt, id };
}

/** Newest first; pass `nextCursor` back as `cursor` for the next page. */
export async function listMediaRecords(
  deps: MediaDeps,
  ctx: MediaContext,
  opts: { limit: number; cursor?: string | undefined },
): Promise<{ items: MediaView[]; nextCursor: string | null }> {
  requireRole(ctx, 'viewer');
  const page = await listPage(deps.db, ctx.workspaceId, {
    limit: opts.limit,
    after: opts.cursor ? decodeCursor(opts.cursor) : undefined,
  });
  return { items: page.rows.map(viewOf), nextCursor: page.next ? encodeCursor(page.next) : null };
}

/** Sets (or, with null or blank text, clears) the alt text used when no post gives its own. */
export async function updateMediaAltText(
  deps: MediaDeps,
  ctx: MediaContext,
  mediaId: string,
  altText: string | null,
): Promise<MediaView> {
  requireRole(ctx, 'editor');
  const text = cleanAltText(altText);
  const before = await mustGet(deps.db, ctx, mediaId);
  const row = await setAltText(deps.db, ctx.workspaceId, mediaId, text);
  if (!row) throw new HeraldError('not_found', { message: `No media ${mediaId} in this workspace` });
  await audit(deps.db, ctx, 'media.update', row.id, { altText: { from: before.altText, to: row.altText } });
  return viewOf(row);
}

/**
 * Deletes a record, refused with `media_in_use` while a target that can still publish
 * carries it. The bytes go too when no record in any workspace names them any more.
 */
export async function deleteMediaRecord(deps: MediaDeps, ctx: MediaContext, mediaId: string): Promise<void> {
  requireRole(ctx, 'editor');
  const row = await mustGet(deps.db, ctx, mediaId);
  await deps.db.transaction(async (tx) => {
    await lockContent(tx, row.sha256);
    // The row's update lock first: a post being scheduled with this media holds a key-share
    // lock on it until it commits, so the references below include it (core/db posts.ts).
    await lockMediaRow(tx, ctx.workspaceId, mediaId);
    const refs = await publishableReferences(tx, ctx.workspaceId, mediaId);
    if (refs.length > 0) {
      throw new HeraldError('media_in_use', {
        message: `The media is attached to ${refs.length === 50 ? '50 or more' : refs.length} post target${refs.length === 1 ? '' : 's'} that can still publish; remove it from them or cancel them first`,
        details: { targets: refs },
      });
    }
    const deleted = await deleteMedia(tx, ctx.workspaceId, mediaId);
    if (!deleted) throw new HeraldError('not_found', { message: `No media ${mediaId} in this workspace` });
    const shared = await storageKeyInUse(tx, deleted.storageKey);
    // Inside the lock: no upload of the same bytes can slip a new row in before this delete.
    if (!shared) await deps.store.delete(deleted.storageKey);
    await audit(tx, ctx, 'media.delete', deleted.id, {
      sha256: deleted.sha256,
      mimeType: deleted.mimeType,
      sizeBytes: deleted.sizeBytes,
      bytesDeleted: !shared,
    });
  });
}

/** The stored bytes, whole or one byte range, with the record that describes them. */
export async function openMediaContent(
  deps: MediaDeps,
  ctx: MediaContext,
  mediaId: string,
  range?: ByteRange,
): Promise<{ media: MediaView; extension: string; stream: Readable }> {
  requireRole(ctx, 'viewer');
  const row = await mustGet(deps.db, ctx, mediaId);
  if (range && (range.start > range.end || range.end >= row.sizeBytes)) {
    throw new HeraldError('range_not_satisfiable', { details: { sizeBytes: row.sizeBytes } });
  }
  const stream = await deps.store.open(row.storageKey, range);
  return { media: viewOf(row), extension: row.storageKey.slice(row.storageKey.lastIndexOf('.') + 1), stream };
}
