/**
 * Turns a stored target into what a connector validates (media known by type and size) or
 * publishes (media bytes loaded). Media ids are resolved inside the target's workspace only.
 */
import { getMedia, HeraldError, type Db, type Media, type MediaStore, type schema } from '../../core/index.js';
import type { Draft, MediaDescriptor, MediaInput, PublishInput, VideoFacts } from '../../connectors/index.js';

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

/** What probing found for a video at upload, as connectors read it. */
export function videoFactsOf(
  row: Pick<Media, 'mimeType' | 'width' | 'height' | 'durationMs' | 'probe'>,
): VideoFacts | undefined {
  if (!row.mimeType.startsWith('video/')) return undefined;
  return {
    durationMs: row.durationMs,
    width: row.width,
    height: row.height,
    videoCodec: row.probe?.videoCodec ?? null,
    audioCodec: row.probe?.audioCodec ?? null,
    rotation: row.probe?.rotation ?? 0,
    frameRate: row.probe?.frameRate ?? null,
  };
}

/** Media attaches to the first part of a thread. */
export async function draftFor(db: Db, workspaceId: string, target: TargetContent): Promise<Draft> {
  const media: MediaDescriptor[] = (await describeMedia(db, workspaceId, target.media)).map(({ row, altText }) => {
    const video = videoFactsOf(row);
    return {
      mimeType: row.mimeType,
      sizeBytes: row.sizeBytes,
      ...(altText ? { altText } : {}),
      ...(video ? { video } : {}),
    };
  });
  return {
    parts: [{ text: target.content, media }, ...target.threadParts.map((text) => ({ text, media: [] }))],
    options: target.options,
  };
}

/**
 * With `streamsVideo` (the connector's `media.streamsVideo`), videos are not loaded: the
 * connector reads them chunk by chunk through `open`, and reading `bytes` is a bug it hears of.
 */
export async function publishInputFor(
  db: Db,
  store: MediaStore,
  workspaceId: string,
  target: TargetContent,
  opts: { streamsVideo?: boolean } = {},
): Promise<PublishInput> {
  const media: MediaInput[] = await Promise.all(
    (await describeMedia(db, workspaceId, target.media)).map(async ({ row, altText }) => {
      const video = videoFactsOf(row);
      const base = {
        mimeType: row.mimeType,
        sizeBytes: row.sizeBytes,
        ...(altText ? { altText } : {}),
        ...(video ? { video } : {}),
        open: (range?: { start: number; end: number }) => store.open(row.storageKey, range),
      };
      if (!(video && opts.streamsVideo)) return { ...base, bytes: await store.get(row.storageKey) };
      return Object.defineProperty(base, 'bytes', {
        enumerable: false,
        get(): Buffer {
          throw new Error(`video ${row.id} is streamed from storage: read it with open(), never whole`);
        },
      }) as MediaInput;
    }),
  );
  return {
    parts: [{ text: target.content, media }, ...target.threadParts.map((text) => ({ text, media: [] }))],
    options: target.options,
  };
}
