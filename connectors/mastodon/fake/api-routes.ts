/**
 * The fake Mastodon's REST API: instance, account, statuses and media, with Mastodon's
 * validation (PostStatusService and the Status/MediaAttachment models) and its answers:
 * Idempotency-Key replays, 202/206 while media processes, 422 with Mastodon's messages.
 */
import { countMastodonText, isLargeMediaType } from '../limits.js';
import { error, json, type Ctx, type Reply, type Route } from './http.js';
import { renderAccount, renderMedia, renderStatus } from './render.js';
import type { FakeStatus } from './state.js';

const NOT_FOUND = 'Record not found';
const VISIBILITIES = ['public', 'unlisted', 'private', 'direct'];
const MB = 1024 * 1024;

function instance(c: Ctx): Reply {
  const { state } = c;
  if (!state.options.instanceV2) return error(404, 'Not Found');
  const cfg = state.options.instance;
  return json(200, {
    domain: new URL(state.baseUrl).host,
    title: cfg.title,
    version: cfg.version,
    source_url: 'https://github.com/mastodon/mastodon',
    description: 'A fake Mastodon server for Herald tests',
    usage: { users: { active_month: state.accounts.size } },
    languages: ['en'],
    configuration: {
      urls: { streaming: state.baseUrl.replace(/^http/, 'ws') },
      accounts: { max_featured_tags: 10, max_pinned_statuses: 5 },
      statuses: {
        max_characters: cfg.maxCharacters,
        max_media_attachments: cfg.maxMediaAttachments,
        characters_reserved_per_url: cfg.charactersReservedPerUrl,
      },
      media_attachments: {
        supported_mime_types: cfg.supportedMimeTypes,
        description_limit: cfg.descriptionLimit,
        image_size_limit: cfg.imageSizeLimit,
        image_matrix_limit: 33_177_600,
        video_size_limit: cfg.videoSizeLimit,
        video_frame_rate_limit: 120,
        video_matrix_limit: 8_294_400,
      },
      polls: { max_options: 4, max_characters_per_option: 50, min_expiration: 300, max_expiration: 2_629_746 },
      translation: { enabled: false },
    },
    registrations: { enabled: false, approval_required: false, message: null },
    contact: { email: 'admin@fake.invalid', account: null },
    rules: [],
  });
}

const visibleTo = (c: Ctx, s: FakeStatus) =>
  s.accountId === c.account?.id || s.visibility === 'public' || s.visibility === 'unlisted';

const byIdDesc = (a: FakeStatus, b: FakeStatus) =>
  BigInt(b.id) > BigInt(a.id) ? 1 : BigInt(b.id) < BigInt(a.id) ? -1 : 0;

function accountStatuses(c: Ctx): Reply {
  const { state, params } = c;
  const id = c.match[1]!;
  if (!state.accounts.has(id)) return error(404, NOT_FOUND);
  const limit = Math.min(40, Math.max(1, Number(params.get('limit')) || 20));
  const maxId = params.get('max_id');
  const sinceId = params.get('since_id');
  const minId = params.get('min_id');
  let list = state
    .liveStatuses(id)
    .filter((s) => visibleTo(c, s))
    // exclude_replies keeps self-replies (threads), as Mastodon does.
    .filter((s) => !params.bool('exclude_replies') || s.inReplyToId === null || s.inReplyToAccountId === id)
    .filter((s) => !maxId || BigInt(s.id) < BigInt(maxId))
    .filter((s) => !sinceId || BigInt(s.id) > BigInt(sinceId))
    .filter((s) => !minId || BigInt(s.id) > BigInt(minId))
    .sort(byIdDesc);
  // min_id pages forward: the oldest statuses after it, still answered newest first.
  list = minId ? list.slice(-limit) : list.slice(0, limit);
  const page = list.map((s) => renderStatus(state, s));
  const headers: Record<string, string> = {};
  if (list.length > 0) {
    const base = `${state.baseUrl}/api/v1/accounts/${id}/statuses?limit=${limit}`;
    headers.link = `<${base}&max_id=${list[list.length - 1]!.id}>; rel="next", <${base}&min_id=${list[0]!.id}>; rel="prev"`;
  }
  return json(200, page, headers);
}

function createStatus(c: Ctx): Reply {
  const { state, params } = c;
  const account = c.account!;
  const cfg = state.options.instance;
  const key = c.req.headers['idempotency-key'];
  const idempotencyKey = typeof key === 'string' && key !== '' ? key : null;
  if (idempotencyKey) {
    const earlier = state.idempotentStatus(account.id, idempotencyKey);
    if (earlier) {
      // PostStatusService returns the earlier status; `find` fails when it was deleted.
      const status = state.liveStatus(earlier);
      if (!status) return error(404, NOT_FOUND);
      state.counters(account.id).idempotentReplays++;
      return json(200, renderStatus(state, status));
    }
  }
  const text = params.get('status') ?? '';
  const spoilerText = params.get('spoiler_text') ?? '';
  const mediaIds = params.all('media_ids');
  if (mediaIds.length > cfg.maxMediaAttachments) {
    return error(422, `Cannot attach more than ${cfg.maxMediaAttachments} files`);
  }
  // Ids of other accounts' or already attached media are dropped, as Mastodon does.
  const media = mediaIds
    .map((id) => state.media.get(id))
    .filter((m) => m !== undefined && m.accountId === account.id && m.statusId === null)
    .map((m) => m!);
  if (media.some((m) => !state.isReady(m))) {
    return error(422, 'Cannot attach files that have not finished processing. Try again in a moment!');
  }
  if (media.length > 1 && media.some((m) => isLargeMediaType(m.mimeType))) {
    return error(422, 'Cannot attach a video to a post that already contains images');
  }
  const inReplyToId = params.get('in_reply_to_id') || null;
  const parent = inReplyToId ? state.liveStatus(inReplyToId) : undefined;
  if (inReplyToId && (!parent || !visibleTo(c, parent))) {
    return error(404, 'The post you are trying to reply to does not appear to exist.');
  }
  const visibility = params.get('visibility') || 'public';
  if (!VISIBILITIES.includes(visibility))
    return error(422, 'Validation failed: Visibility is not included in the list');
  if (text.trim() === '' && media.length === 0) return error(422, "Validation failed: Text can't be blank");
  const length = countMastodonText(text, { charactersReservedPerUrl: cfg.charactersReservedPerUrl, spoilerText });
  if (length > cfg.maxCharacters) {
    return error(422, `Validation failed: Text character limit of ${cfg.maxCharacters} exceeded`);
  }
  const status = state.addStatus({
    accountId: account.id,
    text,
    spoilerText,
    visibility,
    // Status#set_sensitive: a content warning makes the post sensitive.
    sensitive: (params.bool('sensitive') ?? false) || spoilerText !== '',
    language: params.get('language') || null,
    inReplyToId: parent?.id ?? null,
    inReplyToAccountId: parent?.accountId ?? null,
    mediaIds: media.map((m) => m.id),
    idempotencyKey,
    applicationName: c.token ? (state.apps.get(c.token.clientId)?.name ?? null) : null,
  });
  return json(200, renderStatus(state, status));
}

function showStatus(c: Ctx): Reply {
  const status = c.state.liveStatus(c.match[1]!);
  return status && visibleTo(c, status) ? json(200, renderStatus(c.state, status)) : error(404, NOT_FOUND);
}

function statusSource(c: Ctx): Reply {
  const status = c.state.liveStatus(c.match[1]!);
  if (!status || status.accountId !== c.account!.id) return error(404, NOT_FOUND);
  return json(200, { id: status.id, text: status.text, spoiler_text: status.spoilerText });
}

function deleteStatus(c: Ctx): Reply {
  const status = c.state.liveStatus(c.match[1]!);
  if (!status || status.accountId !== c.account!.id) return error(404, NOT_FOUND);
  c.state.deleteStatus(status);
  return json(200, renderStatus(c.state, status, true));
}

function descriptionProblem(c: Ctx, description: string | undefined): Reply | null {
  const limit = c.state.options.instance.descriptionLimit;
  return description !== undefined && [...description].length > limit
    ? error(422, `Validation failed: Description is too long (maximum is ${limit} characters)`)
    : null;
}

function uploadMedia(c: Ctx): Reply {
  const { state, params } = c;
  const cfg = state.options.instance;
  const file = params.file('file');
  if (!file) return error(400, 'param is missing or the value is empty: file');
  const mimeType = file.type.split(';')[0]!.trim();
  if (!cfg.supportedMimeTypes.includes(mimeType)) {
    return error(422, 'Validation failed: File content type is invalid, File is invalid');
  }
  const limit = isLargeMediaType(mimeType) ? cfg.videoSizeLimit : cfg.imageSizeLimit;
  if (file.size > limit)
    return error(422, `Validation failed: File file size must be less than ${Math.round(limit / MB)} MB`);
  const description = params.get('description');
  const problem = descriptionProblem(c, description);
  if (problem) return problem;
  const media = state.addMedia({
    accountId: c.account!.id,
    mimeType,
    sizeBytes: file.size,
    description: description ?? null,
    focus: params.get('focus') ?? null,
  });
  // 200 when processed at once (small images); 202 with `url: null` while processing.
  return json(state.isReady(media) ? 200 : 202, renderMedia(state, media));
}

function showMedia(c: Ctx): Reply {
  const media = c.state.media.get(c.match[1]!);
  if (!media || media.accountId !== c.account!.id) return error(404, NOT_FOUND);
  return json(c.state.isReady(media) ? 200 : 206, renderMedia(c.state, media));
}

function updateMedia(c: Ctx): Reply {
  const media = c.state.media.get(c.match[1]!);
  // Only media not yet attached to a status can be updated.
  if (!media || media.accountId !== c.account!.id || media.statusId !== null) return error(404, NOT_FOUND);
  const description = c.params.get('description');
  const problem = descriptionProblem(c, description);
  if (problem) return problem;
  if (description !== undefined) media.description = description;
  const focus = c.params.get('focus');
  if (focus !== undefined) media.focus = focus;
  return json(c.state.isReady(media) ? 200 : 206, renderMedia(c.state, media));
}

export const apiRoutes: Route[] = [
  { method: 'GET', path: /^\/api\/v2\/instance$/, handle: instance },
  {
    method: 'GET',
    path: /^\/api\/v1\/accounts\/verify_credentials$/,
    auth: 'required',
    scope: 'read:accounts',
    handle: (c) => json(200, renderAccount(c.state, c.account!)),
  },
  {
    method: 'GET',
    path: /^\/api\/v1\/accounts\/([^/]+)\/statuses$/,
    auth: 'optional',
    scope: 'read:statuses',
    handle: accountStatuses,
  },
  {
    method: 'POST',
    path: /^\/api\/v1\/statuses$/,
    auth: 'required',
    scope: 'write:statuses',
    faultTarget: 'statuses',
    handle: createStatus,
  },
  {
    method: 'GET',
    path: /^\/api\/v1\/statuses\/([^/]+)$/,
    auth: 'optional',
    scope: 'read:statuses',
    handle: showStatus,
  },
  {
    method: 'GET',
    path: /^\/api\/v1\/statuses\/([^/]+)\/source$/,
    auth: 'required',
    scope: 'read:statuses',
    handle: statusSource,
  },
  {
    method: 'DELETE',
    path: /^\/api\/v1\/statuses\/([^/]+)$/,
    auth: 'required',
    scope: 'write:statuses',
    handle: deleteStatus,
  },
  {
    method: 'POST',
    path: /^\/api\/v2\/media$/,
    auth: 'required',
    scope: 'write:media',
    faultTarget: 'media',
    handle: uploadMedia,
  },
  { method: 'GET', path: /^\/api\/v1\/media\/([^/]+)$/, auth: 'required', scope: 'write:media', handle: showMedia },
  { method: 'PUT', path: /^\/api\/v1\/media\/([^/]+)$/, auth: 'required', scope: 'write:media', handle: updateMedia },
];
