/**
 * The fake X's media upload: `POST /2/media/upload/initialize`, `…/{id}/append` (chunks up to
 * 5 MB), `…/{id}/finalize`, `GET /2/media/upload?command=STATUS` with processing states for
 * videos and GIFs, and alt text through `POST /2/media/metadata`
 * (https://docs.x.com/x-api/media/quickstart/media-upload-chunked).
 */
import { mediaKeyOf, snowflake, type XFakeState } from './fake-state.js';
import { json, problem, type Route } from './fake-http.js';

const mediaInfo = (s: XFakeState, id: string) => {
  const m = s.media.get(id)!;
  const ready = s.now() >= m.readyAt;
  return json(200, {
    data: {
      id,
      media_key: mediaKeyOf(m.mimeType, id),
      expires_after_secs: 86_400,
      ...(m.mimeType.startsWith('image/') && m.mimeType !== 'image/gif'
        ? {}
        : {
            processing_info: ready
              ? { state: 'succeeded', progress_percent: 100 }
              : { state: 'in_progress', check_after_secs: 1, progress_percent: 50 },
          }),
    },
  });
};

export const MEDIA_ROUTES: Route[] = [
  {
    method: 'POST',
    path: /^\/2\/media\/upload\/initialize$/,
    auth: true,
    handle: ({ state, params, token }) => {
      const b = params.json;
      const mimeType = String(b.media_type ?? '');
      const total = Number(b.total_bytes);
      if (!/^(image\/(jpeg|png|webp|gif)|video\/(mp4|quicktime))$/.test(mimeType))
        return problem(400, 'Invalid Request', `media_type ${mimeType} is not supported.`);
      if (!Number.isInteger(total) || total <= 0) return problem(400, 'Invalid Request', 'total_bytes is invalid.');
      const id = snowflake();
      state.media.set(id, {
        id,
        ownerId: token!.userId,
        mimeType,
        totalBytes: total,
        chunks: new Map(),
        finalized: false,
        readyAt: Infinity,
        altText: null,
      });
      return json(200, { data: { id, media_key: mediaKeyOf(mimeType, id), expires_after_secs: 86_400 } });
    },
  },
  {
    method: 'POST',
    path: /^\/2\/media\/upload\/(\d+)\/append$/,
    auth: true,
    handle: async ({ state, params, match, token }) => {
      const m = state.media.get(match[1]!);
      if (!m || m.ownerId !== token!.userId || m.finalized)
        return problem(400, 'Invalid Request', 'The media_id is invalid.');
      const file = params.files.get('media');
      const segment = Number(params.get('segment_index'));
      if (!file || !Number.isInteger(segment) || segment < 0 || segment > 999)
        return problem(400, 'Invalid Request', 'media and segment_index are required.');
      if (file.size > 5 * 1024 * 1024) return problem(400, 'Invalid Request', 'Chunks may be at most 5 MB.');
      m.chunks.set(segment, file.size);
      return json(200, { data: { expires_at: Math.floor(state.now() / 1000) + 86_400 } });
    },
  },
  {
    method: 'POST',
    path: /^\/2\/media\/upload\/(\d+)\/finalize$/,
    auth: true,
    handle: ({ state, match, token }) => {
      const m = state.media.get(match[1]!);
      if (!m || m.ownerId !== token!.userId) return problem(400, 'Invalid Request', 'The media_id is invalid.');
      const received = [...m.chunks.values()].reduce((a, b) => a + b, 0);
      if (received !== m.totalBytes)
        return problem(
          400,
          'Invalid Request',
          `File size mismatch: expected ${m.totalBytes} bytes, received ${received}.`,
        );
      if (!m.finalized) {
        m.finalized = true;
        m.readyAt = state.now() + state.options.mediaProcessingMs(m.mimeType);
        state.countersOf(m.ownerId).mediaFinalized++;
      }
      return mediaInfo(state, m.id);
    },
  },
  {
    method: 'GET',
    path: /^\/2\/media\/upload$/,
    auth: true,
    handle: ({ state, params, token }) => {
      const m = state.media.get(params.get('media_id') ?? '');
      if (params.get('command') !== 'STATUS' || !m || m.ownerId !== token!.userId || !m.finalized)
        return problem(400, 'Invalid Request', 'The media_id is invalid.');
      return mediaInfo(state, m.id);
    },
  },
  {
    method: 'POST',
    path: /^\/2\/media\/metadata$/,
    auth: true,
    handle: ({ state, params, token }) => {
      const b = params.json as { id?: string; metadata?: { alt_text?: { text?: string } } };
      const m = state.media.get(b.id ?? '');
      const text = b.metadata?.alt_text?.text;
      if (!m || m.ownerId !== token!.userId) return problem(400, 'Invalid Request', 'The media id is invalid.');
      if (typeof text !== 'string' || text.length > 1000)
        return problem(400, 'Invalid Request', 'alt_text must be at most 1000 characters.');
      m.altText = text;
      return json(200, { data: { id: m.id, associated_metadata: true } });
    },
  },
];
