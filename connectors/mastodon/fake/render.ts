/** The fake Mastodon's JSON entities (Account, Status, MediaAttachment) as the API documents them. */
import type { FakeAccount, FakeMedia, FakeState, FakeStatus } from './state.js';

const iso = (ms: number) => new Date(ms).toISOString();

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Plain text as Mastodon renders it: paragraphs on blank lines, `<br />` on line breaks. */
export function toHtml(text: string): string {
  const paragraphs = text.trim() === '' ? [] : text.trim().split(/\n{2,}/);
  return paragraphs.map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br />')}</p>`).join('');
}

export function renderAccount(state: FakeState, account: FakeAccount) {
  const statuses = state.liveStatuses(account.id);
  const last = statuses[statuses.length - 1];
  return {
    id: account.id,
    username: account.username,
    acct: account.username,
    display_name: account.username,
    locked: false,
    bot: false,
    discoverable: true,
    group: false,
    created_at: iso(account.createdAt),
    note: '',
    url: `${state.baseUrl}/@${account.username}`,
    avatar: `${state.baseUrl}/avatars/original/missing.png`,
    avatar_static: `${state.baseUrl}/avatars/original/missing.png`,
    header: `${state.baseUrl}/headers/original/missing.png`,
    header_static: `${state.baseUrl}/headers/original/missing.png`,
    followers_count: account.followers ?? 0,
    following_count: account.following ?? 0,
    statuses_count: statuses.length,
    last_status_at: last ? iso(last.createdAt).slice(0, 10) : null,
    emojis: [],
    fields: [],
  };
}

const mediaType = (mimeType: string) =>
  mimeType === 'image/gif'
    ? 'gifv'
    : mimeType.startsWith('video/')
      ? 'video'
      : mimeType.startsWith('audio/')
        ? 'audio'
        : 'image';

export function renderMedia(state: FakeState, media: FakeMedia) {
  const extension = media.mimeType.split('/')[1] ?? 'bin';
  const file = `${state.baseUrl}/system/media_attachments/files/${media.id}`;
  return {
    id: media.id,
    type: mediaType(media.mimeType),
    // `url` stays null while the file is processing (POST /api/v2/media answers 202).
    url: state.isReady(media) ? `${file}/original/${media.id}.${extension}` : null,
    preview_url: `${file}/small/${media.id}.png`,
    remote_url: null,
    preview_remote_url: null,
    text_url: null,
    meta: media.focus ? { focus: { x: Number(media.focus.split(',')[0]), y: Number(media.focus.split(',')[1]) } } : {},
    description: media.description,
    blurhash: null,
  };
}

export function renderStatus(state: FakeState, status: FakeStatus, withSource = false) {
  const account = state.accounts.get(status.accountId)!;
  return {
    id: status.id,
    created_at: iso(status.createdAt),
    edited_at: null,
    in_reply_to_id: status.inReplyToId,
    in_reply_to_account_id: status.inReplyToAccountId,
    sensitive: status.sensitive,
    spoiler_text: status.spoilerText,
    visibility: status.visibility,
    language: status.language,
    uri: `${state.baseUrl}/users/${account.username}/statuses/${status.id}`,
    url: `${state.baseUrl}/@${account.username}/${status.id}`,
    replies_count: status.repliesOverride ?? state.repliesTo(status.id),
    reblogs_count: status.reblogs,
    favourites_count: status.favourites,
    quotes_count: status.quotes,
    favourited: false,
    reblogged: false,
    muted: false,
    bookmarked: false,
    pinned: false,
    content: toHtml(status.text),
    ...(withSource ? { text: status.text } : {}),
    filtered: [],
    reblog: null,
    application: status.applicationName ? { name: status.applicationName, website: null } : null,
    account: renderAccount(state, account),
    media_attachments: status.mediaIds.map((id) => renderMedia(state, state.media.get(id)!)),
    mentions: [],
    tags: [],
    emojis: [],
    card: null,
    poll: null,
  };
}
