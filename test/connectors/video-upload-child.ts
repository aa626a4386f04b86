/**
 * The process `video-memory.test.ts` measures: one connector (YouTube, TikTok or Pinterest)
 * publishes a small video to warm its code paths up, then the large one, read from disk as
 * the publishing worker hands stored media (`open(range)`; reading `bytes` throws). While the
 * large one uploads, this process's resident memory is sampled after a full collection each
 * time; the peak growth over the start goes to stdout as one JSON line. Run with
 * `node --expose-gc --import tsx`; the platform's fake runs in the parent process, so what is
 * measured is the connector alone.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { AccountContext, Connector, MediaInput } from '../../connectors/contract.js';
import { createPinterestConnector } from '../../connectors/pinterest/index.js';
import { createTikTokConnector } from '../../connectors/tiktok/index.js';
import { createYouTubeConnector } from '../../connectors/youtube/index.js';
import { isoBmffVideo } from '../helpers/media-fixtures.js';

export interface ChildInput {
  platform: 'youtube' | 'tiktok' | 'pinterest';
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  externalId: string;
  accessToken: string;
  metadata: Record<string, unknown>;
  options: Record<string, unknown>;
  file: string;
}

const input = JSON.parse(process.argv[2]!) as ChildInput;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function connectorFor(i: ChildInput): Connector {
  const app = { clientId: i.clientId, clientSecret: i.clientSecret, apiUrl: i.apiUrl };
  if (i.platform === 'youtube') return createYouTubeConnector(app);
  if (i.platform === 'tiktok') return createTikTokConnector({ ...app, clientKey: i.clientId });
  return createPinterestConnector({ ...app, mediaPollIntervalMs: 20 });
}

const facts = { width: 1080, height: 1920, videoCodec: 'avc1', audioCodec: 'mp4a', rotation: 0, frameRate: 30 };

async function large(): Promise<MediaInput> {
  const { size } = await stat(input.file);
  return {
    mimeType: 'video/mp4',
    sizeBytes: size,
    get bytes(): Buffer {
      throw new Error('the whole video was asked for');
    },
    video: { durationMs: 60_000, ...facts },
    open: async (range) => createReadStream(input.file, range ?? {}),
  };
}

function small(): MediaInput {
  const bytes = isoBmffVideo({ width: 1080, height: 1920, durationMs: 5_000, codec: 'avc1' });
  return { mimeType: 'video/mp4', sizeBytes: bytes.length, bytes, video: { durationMs: 5_000, ...facts } };
}

const connector = connectorFor(input);
const account: AccountContext = {
  accountId: randomUUID(),
  externalId: input.externalId,
  handle: 'big',
  credentials: { accessToken: input.accessToken },
  metadata: input.metadata,
};
const post = (text: string, media: MediaInput) =>
  connector.publish(account, { parts: [{ text, media: [media] }], options: input.options }, randomUUID());

await post('small', small());
const rss = () => {
  gc();
  return process.memoryUsage().rss;
};
const before = rss();
let peak = before;
const timer = setInterval(() => (peak = Math.max(peak, rss())), 250);
const result = await post('big', await large());
clearInterval(timer);
peak = Math.max(peak, rss());
process.stdout.write(
  `${JSON.stringify({ growth: peak - before, before, peak, platformPostId: result.platformPostId })}\n`,
);
