/**
 * The runtime's connector registry hands the signed public media URLs (`PUBLIC_URL`) to every
 * connector that needs them: Meta's and TikTok's (photo posts and videos sent by URL are pulled
 * from a public address). Without the signer TikTok refuses those drafts naming PUBLIC_URL; a
 * registry built with it takes them.
 */
import { describe, expect, it } from 'vitest';
import type { Draft } from '../../connectors/index.js';
import { createConnectors } from '../../server/connectors.js';

const tiktok = {
  clientKey: 'ck',
  clientSecret: 'cs',
  redirectUri: 'http://127.0.0.1:1/v1/social-accounts/callback',
  apiUrl: undefined,
  audited: true,
};
const creatorInfo = {
  privacyLevelOptions: ['PUBLIC_TO_EVERYONE', 'SELF_ONLY'],
  commentDisabled: false,
  duetDisabled: false,
  stitchDisabled: false,
  maxVideoPostDurationSec: 600,
};
const photoPost: Draft = {
  parts: [{ text: 'two photos', media: [{ mimeType: 'image/jpeg', sizeBytes: 1234 }] }],
  options: { privacyLevel: 'SELF_ONLY' },
};

describe('connector wiring', () => {
  it("TikTok gets the runtime's public media URLs: a photo post is refused without them and taken with them", () => {
    const account = { metadata: { creatorInfo } };
    const without = createConnectors({ timeoutMs: 1_000, connect: { tiktok } as never }).get('tiktok');
    expect(
      without
        .validate(account, photoPost)
        .map((i) => i.message)
        .join(' '),
    ).toMatch(/PUBLIC_URL/);
    const withUrls = createConnectors({
      timeoutMs: 1_000,
      connect: { tiktok } as never,
      mediaUrls: { urlFor: async () => 'https://herald.example/m/1' },
    }).get('tiktok');
    expect(
      withUrls
        .validate(account, photoPost)
        .map((i) => i.message)
        .join(' '),
    ).not.toMatch(/PUBLIC_URL/);
  });
});
