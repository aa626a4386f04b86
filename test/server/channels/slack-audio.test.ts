/**
 * Slack audio end to end: espeak-ng speech recorded as Slack's clients record clips (WebM/Opus
 * on desktop, MP4/AAC on phones), uploaded to the Slack fake, shared in a direct message as a
 * `file_share` message event delivered signed over HTTP to the real Bolt app; the app fetches
 * the file with the bot token (the fake serves it only so), decodes it in process, hands the
 * speech to Herald's OpenAI speech-to-text engine (against the scripted speech server) and the
 * real agent answers the transcript. Also: a Slack Connect stub read with `files.info`, a format
 * that cannot be decoded (the answer lists what works), an unlinked user (nothing fetched), a
 * file URL on another host (the token is not sent there), and the fake's own file auth.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/index.js';
import { SlackChannel } from '../../../server/channels/slack/index.js';
import { AudioTooLong, decodeAudio } from '../../../server/channels/slack/audio.js';
import { MAX_AUDIO_S } from '../../../server/channels/slack/channel.js';
import { errorsPlugin } from '../../../server/plugins/errors.js';
import { decodeOggOpus, EspeakTextToSpeech, OpenAiSpeechToText, pcmMs, type Pcm } from '../../../voice/index.js';
import { startAgentEnv, type AgentEnv } from '../../agent/agent-env.js';
import { envelopeCorrelation, mp4AacClip, webmOpusClip } from '../../fakes/slack-clips.js';
import { startSlackFake, type SharedFile, type SlackFake } from '../../fakes/slack.js';
import { speech } from '../../fakes/speech-audio.js';
import { startFakeSpeech, type FakeSpeech } from '../../fakes/speech.js';
import type { Person } from '../../helpers/api-env.js';

const SIGNING = 'slack-signing-secret-audio-0123';
const SAID = 'What is scheduled for tomorrow?';
let env: AgentEnv;
let slack: SlackFake;
let stt: FakeSpeech;
let tts: EspeakTextToSpeech;
let channel: SlackChannel;
let hook: FastifyInstance;
let url: string;
let spoken: Pcm;
let n = 0;

async function until<T>(what: string, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A message from `user` in DM `dm` sharing `files` (Slack's `file_share` message event). */
async function share(user: string, dm: string, files: Array<Record<string, unknown>>, text = '') {
  const event = {
    type: 'message',
    subtype: 'file_share',
    channel_type: 'im',
    channel: dm,
    user,
    text,
    files,
    upload: true,
    display_as_bot: false,
    ts: `${++n}.0002`,
  };
  return (await slack.deliverEvent(url, SIGNING, event)).statuses.at(-1);
}

async function linkedUser(p: Person): Promise<{ user: string; dm: string }> {
  const res = await fetch(`${env.api.baseUrl}/v1/channels/link-codes`, {
    method: 'POST',
    headers: { ...p.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'slack' }),
  });
  const { code } = (await res.json()) as { code: string };
  const user = `UA${++n}`;
  const dm = `DA${n}`;
  await slack.deliverEvent(url, SIGNING, {
    type: 'message',
    channel_type: 'im',
    channel: dm,
    user,
    text: `link ${code}`,
    ts: `${n}.0001`,
  });
  await until('linked', () => slack.messages(dm).find((m) => m.text.startsWith('Linked')));
  return { user, dm };
}

const texts = (dm: string) => slack.messages(dm).map((m) => m.text);

beforeAll(async () => {
  env = await startAgentEnv();
  slack = await startSlackFake({ retryDelaysMs: [0, 10, 10] });
  stt = await startFakeSpeech({ transcribe: () => SAID });
  tts = new EspeakTextToSpeech();
  channel = new SlackChannel({
    botToken: slack.token,
    signingSecret: SIGNING,
    apiUrl: slack.apiUrl,
    db: env.api.env.database.db,
    redis: env.api.deps.redis,
    keyPrefix: `test-slack-audio-${randomUUID()}`,
    chat: env.handler,
    stt: new OpenAiSpeechToText({ baseUrl: stt.openaiUrl, apiKey: 'sk-test', model: 'whisper-1', timeoutMs: 10_000 }),
    tts,
    logger: createLogger({ level: 'silent' }),
  });
  hook = Fastify();
  await hook.register(errorsPlugin);
  await hook.register(channel.receiver.routes, { prefix: '/v1' });
  url = `${await hook.listen({ host: '127.0.0.1', port: 0 })}/v1/channels/slack/events`;
  spoken = { sampleRate: 16_000, data: await speech(SAID) };
}, 60_000);

afterAll(async () => {
  await channel?.close();
  await hook?.close();
  await stt?.close();
  await tts?.close?.();
  await slack?.close();
  await env?.close();
});

describe('slack audio', () => {
  it(
    'a clip recorded in Slack on desktop (WebM/Opus) is fetched with the bot token, decoded, transcribed and answered in text and spoken',
    { timeout: 60_000 },
    async () => {
      const p = await env.api.signUp();
      const { user, dm } = await linkedUser(p);
      const clip = await webmOpusClip(spoken);
      expect(clip.subarray(0, 4).toString('hex')).toBe('1a45dfa3');
      const file = slack.shareFile(user, clip, {
        name: 'audio_message.webm',
        mimetype: 'audio/webm',
        filetype: 'webm',
        prettyType: 'WebM',
        clip: { durationMs: Math.round(pcmMs(spoken)) },
      });
      const turns = env.handler.turns.size;
      const heardBefore = stt.transcriptions.length;
      expect(await share(user, dm, [{ ...file }])).toBe(200);
      const answer = await until('the answer', () =>
        slack.messages(dm).find((m) => /scheduled tomorrow/i.test(m.text)),
      );
      await channel.idle();
      expect(answer.text.startsWith(`🎙️ “${SAID}”`)).toBe(true);
      expect([...env.handler.turns.values()].slice(turns).map((t) => t.text)).toEqual([SAID]);
      expect(slack.downloads.at(-1)).toEqual({ path: new URL(file.url_private_download).pathname, status: 200 });
      // What the engine heard is the clip's speech: 16 kHz, as long as what was said, the same shape.
      expect(stt.transcriptions.length).toBe(heardBefore + 1);
      const heard = stt.transcriptions.at(-1)!.audio;
      expect(heard.sampleRate).toBe(16_000);
      expect(Math.abs(pcmMs(heard) - pcmMs(spoken))).toBeLessThan(100);
      expect(envelopeCorrelation(heard, spoken)).toBeGreaterThan(0.9);
      // With a text-to-speech engine the answer is also shared spoken: an Ogg/Opus upload in the DM.
      const [upload, ...more] = slack.uploads(dm);
      expect(more).toEqual([]);
      expect(upload).toMatchObject({ filename: 'answer.ogg', title: 'Spoken answer' });
      expect(pcmMs(decodeOggOpus(upload!.bytes))).toBeGreaterThan(1_000);
    },
  );

  it(
    'a clip recorded on a phone (MP4/AAC, labelled video/mp4) is decoded and answered too',
    { timeout: 60_000 },
    async () => {
      const p = await env.api.signUp();
      const { user, dm } = await linkedUser(p);
      const clip = await mp4AacClip(spoken);
      expect(clip.subarray(4, 8).toString('latin1')).toBe('ftyp');
      const file = slack.shareFile(user, clip, {
        name: 'audio_message.mp4',
        mimetype: 'video/mp4',
        filetype: 'mp4',
        prettyType: 'MPEG 4 Video',
        clip: { durationMs: Math.round(pcmMs(spoken)) },
      });
      expect(await share(user, dm, [{ ...file }])).toBe(200);
      await until('the answer', () => slack.messages(dm).find((m) => /scheduled tomorrow/i.test(m.text)));
      await channel.idle();
      const heard = stt.transcriptions.at(-1)!.audio;
      // AAC's encoder delay and frame padding add a little at the ends.
      expect(Math.abs(pcmMs(heard) - pcmMs(spoken))).toBeLessThan(200);
      expect(envelopeCorrelation(heard, spoken)).toBeGreaterThan(0.9);
    },
  );

  it(
    'a Slack Connect stub (file_access check_file_info) is read with files.info, then fetched',
    { timeout: 60_000 },
    async () => {
      const p = await env.api.signUp();
      const { user, dm } = await linkedUser(p);
      const file = slack.shareFile(user, await webmOpusClip(spoken), {
        name: 'audio_message.webm',
        mimetype: 'audio/webm',
        filetype: 'webm',
        clip: { durationMs: Math.round(pcmMs(spoken)) },
      });
      // The stub carries no type: the app cannot know it is audio before files.info.
      expect(await share(user, dm, [slack.stubOf(file)])).toBe(200);
      await until('the answer', () => slack.messages(dm).find((m) => /scheduled tomorrow/i.test(m.text)));
      await channel.idle();
    },
  );

  it('a format that cannot be decoded is answered with the formats that work; nothing is transcribed', async () => {
    const p = await env.api.signUp();
    const { user, dm } = await linkedUser(p);
    const before = stt.transcriptions.length;
    const file = slack.shareFile(user, Buffer.from('#!AMR-WB is not this, nor is anything else here'.repeat(20)), {
      name: 'memo.xyz',
      mimetype: 'audio/x-unknown',
      filetype: 'binary',
      prettyType: 'Binary',
    });
    expect(await share(user, dm, [{ ...file }])).toBe(200);
    const said = await until('the answer', () => texts(dm).find((t) => t.startsWith('I cannot play')));
    await channel.idle();
    expect(said).toContain('(Binary)');
    expect(said).toContain('WebM (Opus), MP4/M4A (AAC), MP3, WAV');
    expect(stt.transcriptions.length).toBe(before);
  });

  it('an unlinked user gets the linking instructions; the file is not fetched', async () => {
    const downloads = slack.downloads.length;
    const file = slack.shareFile('UNOBODY', await webmOpusClip(spoken), {
      name: 'audio_message.webm',
      mimetype: 'audio/webm',
      filetype: 'webm',
    });
    expect(await share('UNOBODY', 'DNOBODYA', [{ ...file }])).toBe(200);
    await until('instructions', () => texts('DNOBODYA')[0]);
    await channel.idle();
    expect(texts('DNOBODYA')[0]).toContain('not linked');
    expect(slack.downloads.length).toBe(downloads);
  });

  it("a file URL on another host is not fetched: the bot token goes to Slack's file host only", async () => {
    const p = await env.api.signUp();
    const { user, dm } = await linkedUser(p);
    const seen: Array<string | undefined> = [];
    const elsewhere = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'audio/webm' }).end();
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    try {
      const at = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/files-pri/T-F1/download/a.webm`;
      const forged: SharedFile = {
        ...slack.shareFile(user, Buffer.alloc(10), { name: 'a.webm', mimetype: 'audio/webm', filetype: 'webm' }),
        url_private: at,
        url_private_download: at,
      };
      expect(await share(user, dm, [{ ...forged }])).toBe(200);
      await until('the answer', () => texts(dm).find((t) => t.startsWith('I could not fetch')));
      await channel.idle();
      expect(seen).toEqual([]);
    } finally {
      await new Promise((r) => elsewhere.close(r));
    }
  });

  it('without the files:read scope: a clip is answered with what is missing, a Slack Connect stub too; nothing is transcribed', async () => {
    const bare = await startSlackFake({ scopes: ['chat:write', 'im:history', 'app_mentions:read'] });
    const app = new SlackChannel({
      botToken: bare.token,
      signingSecret: SIGNING,
      apiUrl: bare.apiUrl,
      db: env.api.env.database.db,
      redis: env.api.deps.redis,
      keyPrefix: `test-slack-audio-noscope-${randomUUID()}`,
      chat: env.handler,
      stt: new OpenAiSpeechToText({ baseUrl: stt.openaiUrl, apiKey: 'sk-test', model: 'whisper-1', timeoutMs: 10_000 }),
      logger: createLogger({ level: 'silent' }),
    });
    const server = Fastify();
    await server.register(errorsPlugin);
    await server.register(app.receiver.routes, { prefix: '/v1' });
    const at = `${await server.listen({ host: '127.0.0.1', port: 0 })}/v1/channels/slack/events`;
    try {
      const p = await env.api.signUp();
      const res = await fetch(`${env.api.baseUrl}/v1/channels/link-codes`, {
        method: 'POST',
        headers: { ...p.auth, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'slack' }),
      });
      const { code } = (await res.json()) as { code: string };
      const send = (event: Record<string, unknown>) =>
        bare.deliverEvent(at, SIGNING, { type: 'message', channel_type: 'im', channel: 'DS1', user: 'US1', ...event });
      await send({ text: `link ${code}`, ts: '1.1' });
      await until('linked', () => bare.messages('DS1').find((m) => m.text.startsWith('Linked')));
      const before = stt.transcriptions.length;
      const clip = bare.shareFile('US1', await webmOpusClip(spoken), {
        name: 'audio_message.webm',
        mimetype: 'audio/webm',
        filetype: 'webm',
        clip: { durationMs: Math.round(pcmMs(spoken)) },
      });
      await send({ subtype: 'file_share', text: '', files: [{ ...clip }], ts: '2.1' });
      await until('the fetch answer', () => bare.messages('DS1').find((m) => m.text.startsWith('I could not fetch')));
      expect(bare.downloads.at(-1)!.status).toBe(403);
      await send({ subtype: 'file_share', text: '', files: [bare.stubOf(clip)], ts: '3.1' });
      const said = await until('the stub answer', () =>
        bare.messages('DS1').find((m) => m.text.startsWith('I could not read the file')),
      );
      expect(said.text).toContain('files:read');
      await app.idle();
      expect(stt.transcriptions.length).toBe(before);
    } finally {
      await app.close();
      await server.close();
      await bare.close();
    }
  });

  it("the fake serves a file's bytes only to the bot token: 401 without or with another, 404 for an unknown file", async () => {
    const file = slack.shareFile('UX', Buffer.from('bytes'), { name: 'x.wav', mimetype: 'audio/wav', filetype: 'wav' });
    const get = (u: string, auth?: string) =>
      fetch(u, { headers: auth ? { authorization: auth } : {} }).then(async (r) => ({
        status: r.status,
        body: await r.text(),
      }));
    expect((await get(file.url_private_download)).status).toBe(401);
    expect((await get(file.url_private_download, 'Bearer xoxb-someone-else')).status).toBe(401);
    expect(await get(file.url_private, `Bearer ${slack.token}`)).toEqual({ status: 200, body: 'bytes' });
    expect((await get(file.url_private.replace(file.id, 'F0NOPE'), `Bearer ${slack.token}`)).status).toBe(404);
  });
});

describe('decodeAudio length cap', () => {
  /** A real 16-bit mono WAV of `seconds` of silence at 8 kHz: small per second, long to decode. */
  const silentWav = (seconds: number) => {
    const rate = 8000;
    const n = rate * seconds;
    const b = Buffer.alloc(44 + n * 2);
    b.write('RIFF', 0);
    b.writeUInt32LE(36 + n * 2, 4);
    b.write('WAVE', 8);
    b.write('fmt ', 12);
    b.writeUInt32LE(16, 16);
    b.writeUInt16LE(1, 20);
    b.writeUInt16LE(1, 22);
    b.writeUInt32LE(rate, 24);
    b.writeUInt32LE(rate * 2, 28);
    b.writeUInt16LE(2, 32);
    b.writeUInt16LE(16, 34);
    b.write('data', 36);
    b.writeUInt32LE(n * 2, 40);
    return b;
  };

  it('audio longer than the cap is refused as AudioTooLong before the rest of the file is decoded', async () => {
    const wav = silentWav(MAX_AUDIO_S * 2);
    const progress = { bytesFed: 0, samples: 0 };
    await expect(decodeAudio(wav, { maxSeconds: MAX_AUDIO_S, progress })).rejects.toBeInstanceOf(AudioTooLong);
    // Stopped just past the cap: about half the file fed, never the whole of it.
    expect(progress.samples).toBeGreaterThan(MAX_AUDIO_S * 8000);
    expect(progress.bytesFed).toBeLessThan(wav.length * 0.6);
  });

  it('audio within the cap decodes whole, to 16 kHz', async () => {
    const wav = silentWav(2);
    const progress = { bytesFed: 0, samples: 0 };
    const pcm = await decodeAudio(wav, { maxSeconds: MAX_AUDIO_S, progress });
    expect(progress.bytesFed).toBe(wav.length);
    expect(pcm.sampleRate).toBe(16000);
    expect(pcm.data.length / 2 / pcm.sampleRate).toBeCloseTo(2, 1);
  });
});
