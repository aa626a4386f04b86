/**
 * A spoken Telegram voice note end to end: espeak-ng speech encoded to OGG/Opus (libopus in
 * WebAssembly), sent as a voice message by the Bot API fake, downloaded by the bot (`getFile`
 * and the file URL), decoded in process, transcribed by Herald's OpenAI speech-to-text engine
 * against the scripted speech server, run as a text turn by the real agent, answered in text
 * and as a voice note (eSpeak NG's speech, encoded to OGG/Opus and sent with `sendVoice`).
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/index.js';
import { TelegramChannel, telegramWebhookRoutes } from '../../../server/channels/telegram/index.js';
import { decodeOggOpus, encodeOggOpus, EspeakTextToSpeech, OpenAiSpeechToText, pcmMs } from '../../../voice/index.js';
import { startAgentEnv, type AgentEnv } from '../../agent/agent-env.js';
import { speech } from '../../fakes/speech-audio.js';
import { startFakeSpeech, type FakeSpeech } from '../../fakes/speech.js';
import { startTelegramFake, type TelegramFake } from '../../fakes/telegram.js';

const SECRET = 'webhook-secret_voice_0123';
const SAID = 'What is scheduled for tomorrow?';
let env: AgentEnv;
let tg: TelegramFake;
let stt: FakeSpeech;
let tts: EspeakTextToSpeech;
let channel: TelegramChannel;
let hook: FastifyInstance;

async function until<T>(what: string, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  env = await startAgentEnv();
  tg = await startTelegramFake();
  stt = await startFakeSpeech({ transcribe: () => SAID });
  tts = new EspeakTextToSpeech();
  channel = new TelegramChannel({
    token: tg.token,
    apiUrl: tg.url,
    db: env.api.env.database.db,
    redis: env.api.deps.redis,
    keyPrefix: `test-tg-voice-${randomUUID()}`,
    chat: env.handler,
    stt: new OpenAiSpeechToText({ baseUrl: stt.openaiUrl, apiKey: 'sk-test', model: 'whisper-1', timeoutMs: 10_000 }),
    tts,
    logger: createLogger({ level: (process.env.TEST_LOG_LEVEL as 'silent' | undefined) ?? 'silent' }),
  });
  await channel.init();
  hook = Fastify();
  await hook.register(telegramWebhookRoutes, { prefix: '/v1', channel, secret: SECRET });
  const address = await hook.listen({ host: '127.0.0.1', port: 0 });
  tg.setWebhookDirect(`${address}/v1/channels/telegram/webhook`, SECRET);
}, 60_000);

afterAll(async () => {
  await channel?.close();
  await hook?.close();
  await tts?.close?.();
  await stt?.close();
  await tg?.close();
  await env?.close();
});

describe('telegram voice notes', () => {
  it(
    'a spoken voice note reaches a transcript, a text turn, and an answer in text and as a voice note',
    { timeout: 90_000 },
    async () => {
      const p = await env.api.signUp();
      const res = await fetch(`${env.api.baseUrl}/v1/channels/link-codes`, {
        method: 'POST',
        headers: { ...p.auth, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'telegram' }),
      });
      const { code } = (await res.json()) as { code: string };
      const chatId = 880_001;
      await tg.send(chatId, `/start ${code}`);
      await until('linked', () => tg.messages(chatId).find((m) => m.text.startsWith('Linked')));

      const spoken = await speech(SAID);
      const ogg = encodeOggOpus({ sampleRate: 16_000, data: spoken });
      expect(ogg.subarray(0, 4).toString('latin1')).toBe('OggS');
      const turns = env.handler.turns.size;
      expect((await tg.sendVoiceNote(chatId, ogg, Math.ceil(spoken.length / 32_000))).status).toBe(200);

      // The transcript runs as the turn's text (the agent's fast path answers this one), shown above the answer.
      const answer = await until('the text answer', () =>
        tg.messages(chatId).find((m) => /scheduled tomorrow/i.test(m.text)),
      );
      expect(answer.text.startsWith(`🎙️ “${SAID}”`)).toBe(true);
      expect([...env.handler.turns.values()].slice(turns).map((t) => t.text)).toEqual([SAID]);
      // What the engine heard is the note's audio, decoded in process: 16 kHz, as long as what was said.
      const heard = stt.transcriptions.at(-1)!;
      expect(heard.audio.sampleRate).toBe(16_000);
      expect(Math.abs(pcmMs(heard.audio) - spoken.length / 32)).toBeLessThan(100);
      const back = await until('the voice answer', () => tg.voices(chatId)[0]);
      const decoded = decodeOggOpus(back);
      expect(pcmMs(decoded)).toBeGreaterThan(1_000);
      await channel.idle();
    },
  );

  it('a voice note from an unlinked chat gets the linking instructions and is not transcribed', async () => {
    const before = stt.transcriptions.length;
    const ogg = encodeOggOpus({ sampleRate: 16_000, data: await speech('Hello.') });
    await tg.sendVoiceNote(880_002, ogg, 1);
    await until('the instructions', () => tg.messages(880_002)[0]);
    expect(tg.messages(880_002)[0]!.text).toContain('not linked');
    expect(stt.transcriptions.length).toBe(before);
  });
});
