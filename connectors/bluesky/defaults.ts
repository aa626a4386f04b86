/** Defaults shared by the Bluesky connector and its account linker. */

/** Milliseconds before a request is abandoned, unless `timeoutMs` says otherwise. */
export const DEFAULT_TIMEOUT_MS = 15_000;
/** Bluesky's public AppView: `app.bsky.feed.getPosts` and `com.atproto.identity.resolveHandle` answer there without auth. */
export const DEFAULT_APPVIEW_URL = 'https://api.bsky.app';
