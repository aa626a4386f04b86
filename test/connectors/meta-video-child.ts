/**
 * The process `meta-video-memory.test.ts` measures: both of Herald's halves of a Meta video
 * post in one process — the connector (Instagram, Facebook or Threads) hashing the stored file
 * for its signed URL, and Herald's own `/v1/public-media` route (`server/routes/public-media.ts`)
 * streaming it from the media store to Meta's crawler (the platform's fake, in the parent).
 * A small video is published first to warm the code paths up; then, while the large one is
 * published from storage as the worker hands it (`open`; reading `bytes` throws), this
 * process's resident memory is sampled after a full collection; the peak growth goes to
 * stdout as one JSON line. Run with `node --expose-gc --import tsx`.
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { LocalMediaStore, SecretCipher } from '../../core/index.js';
import type { AccountContext, Connector, MediaInput } from '../../connectors/contract.js';
import { createFacebookConnector } from '../../connectors/facebook/index.js';
import { createInstagramConnector, instagramUrlsAt } from '../../connectors/instagram/index.js';
import { signedMediaUrls } from '../../connectors/meta/media-urls.js';
import { createThreadsConnector, threadsUrlsAt } from '../../connectors/threads/index.js';
import { PUBLIC_MEDIA_KEY_PURPOSE, publicMediaRoutes } from '../../server/routes/public-media.js';

export interface MetaChildInput {
  platform: 'instagram' | 'facebook' | 'threads';
  /** The fake's base URL. */
  apiUrl: string;
  externalId: string;
  accessToken: string;
  /** The media store's directory, and the keys of the small and the large video in it. */
  storeDir: string;
  small: { key: string; sizeBytes: number };
  large: { key: string; sizeBytes: number };
}

const input = JSON.parse(process.argv[2]!) as MetaChildInput;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const store = new LocalMediaStore(input.storeDir);
const cipher = new SecretCipher(new Map([['k1', Buffer.alloc(32, 7)]]), 'k1');
const app = Fastify();
app.setValidatorCompiler(validatorCompiler);
app.setSerializerCompiler(serializerCompiler);
await app.register(publicMediaRoutes, { prefix: '/v1', store, cipher });
const publicUrl = await app.listen({ host: '127.0.0.1', port: 0 });
const mediaUrls = signedMediaUrls({ publicUrl, secret: cipher.deriveKey(PUBLIC_MEDIA_KEY_PURPOSE) });

function connectorFor(i: MetaChildInput): Connector {
  if (i.platform === 'instagram')
    return createInstagramConnector({ urls: instagramUrlsAt(i.apiUrl), mediaUrls, pollIntervalMs: 50 });
  if (i.platform === 'threads')
    return createThreadsConnector({ urls: threadsUrlsAt(i.apiUrl), mediaUrls, pollIntervalMs: 50 });
  // Meta answers POST /{page-id}/videos once it has fetched the file.
  return createFacebookConnector({ apiUrl: `${i.apiUrl}/v23.0`, mediaUrls, timeoutMs: 120_000 });
}

const facts = { width: 1080, height: 1920, videoCodec: 'avc1', audioCodec: 'mp4a', rotation: 0, frameRate: 30 };

/** A stored video as the publishing worker hands it to a connector that streams videos. */
const stored = (file: { key: string; sizeBytes: number }): MediaInput => ({
  mimeType: 'video/mp4',
  sizeBytes: file.sizeBytes,
  get bytes(): Buffer {
    throw new Error('the whole video was asked for');
  },
  video: { durationMs: 60_000, ...facts },
  open: (range) => store.open(file.key, range),
});

const connector = connectorFor(input);
const account: AccountContext = {
  accountId: randomUUID(),
  externalId: input.externalId,
  handle: 'big',
  credentials: { accessToken: input.accessToken },
  metadata: {},
};
const post = (text: string, media: MediaInput) =>
  connector.publish(account, { parts: [{ text, media: [media] }], options: {} }, randomUUID());

await post('small', stored(input.small));
const rss = () => {
  gc();
  return process.memoryUsage().rss;
};
const before = rss();
let peak = before;
const timer = setInterval(() => (peak = Math.max(peak, rss())), 250);
const result = await post('big', stored(input.large));
clearInterval(timer);
peak = Math.max(peak, rss());
await app.close();
process.stdout.write(
  `${JSON.stringify({ growth: peak - before, before, peak, platformPostId: result.platformPostId })}\n`,
);
