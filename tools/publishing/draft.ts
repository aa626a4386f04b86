/**
 * Turns a stored target into what a connector validates (media known by type and size) or
 * publishes (media bytes loaded). Media ids are resolved inside the target's workspace only.
 */
import { getMedia, HeraldError, type Db, type MediaStore, type schema } from '../../core/index.js';
import type { Draft, MediaDescriptor, MediaInput, PublishInput } from '../../connectors/index.js';

export interface TargetContent {
  content: string;
  threadParts: string[];
  media: schema.TargetMedia[];
  options: Record<string, unknown>;
}

async function describeMedia(db: Db, workspaceId: string, media: schema.TargetMedia[]) {
  return Promise.all(
    media.map(async (m) => {
      const row = await getMedia(db, workspaceId, m.mediaId);
      if (!row)
        throw new HeraldError('not_found', {
          message: `No media ${m.mediaId} in this workspace`,
          details: { mediaId: m.mediaId },
        });
      return { row, altText: m.altText ?? row.altText ?? undefined };
    }),
  );
}

/** Media attaches to the first part of a thread. */
export async function draftFor(db: Db, workspaceId: string, target: TargetContent): Promise<Draft> {
  const media: MediaDescriptor[] = (await describeMedia(db, workspaceId, target.media)).map(({ row, altText }) => ({
    mimeType: row.mimeType,
    sizeBytes: row.sizeBytes,
    ...(altText ? { altText } : {}),
  }));
  return {
    parts: [{ text: target.content, media }, ...target.threadParts.map((text) => ({ text, media: [] }))],
    options: target.options,
  };
}

export async function publishInputFor(
  db: Db,
  store: MediaStore,
  workspaceId: string,
  target: TargetContent,
): Promise<PublishInput> {
  const media: MediaInput[] = await Promise.all(
    (await describeMedia(db, workspaceId, target.media)).map(async ({ row, altText }) => ({
      mimeType: row.mimeType,
      sizeBytes: row.sizeBytes,
      bytes: await store.get(row.storageKey),
      ...(altText ? { altText } : {}),
    })),
  );
  return {
    parts: [{ text: target.content, media }, ...target.threadParts.map((text) => ({ text, media: [] }))],
    options: target.options,
  };
}
