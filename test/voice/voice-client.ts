/**
 * A test client of the voice channel on `/v1/ws` (events recorded in order, audio frames as
 * `(audio)` entries, real-time streaming of PCM) and a chat handler that answers slowly,
 * like a model, for long answers. Shared by the voice tests.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { WebSocket, type RawData } from 'ws';
import { createSession } from '../../core/index.js';
import { authPlugin } from '../../server/plugins/auth.js';
import { errorsPlugin } from '../../server/plugins/errors.js';
import {
  EchoChatHandler,
  wordsOf,
  wsRoutes,
  type ChatHandler,
  type ChatTurn,
  type TurnSink,
} from '../../server/ws/index.js';
import {
  EspeakTextToSpeech,
  loadSileroModel,
  OpenAiSpeechToText,
  VOICE_DEFAULTS,
  type TurnDetectorOptions,
  type VoiceEngines,
  type VoiceOptions,
} from '../../voice/index.js';
import { startApiEnv, type ApiEnv } from '../helpers/api-env.js';
import { frames, quiet, speech } from '../fakes/speech-audio.js';
import { startFakeSpeech, type FakeSpeech } from '../fakes/speech.js';

const WAIT_MS = 20_000;

export interface Ev {
  type: string;
  bytes?: number;
  turnId?: string | null;
  text?: string;
  [k: string]: unknown;
}

/** Echo (slowly, like a model, for a long answer), remembering what barge-ins asked it to keep. */
export class RecordingHandler implements ChatHandler {
  readonly echo = new EchoChatHandler();
  readonly kept: { turnId: string; text: string; spoken: string }[] = [];
  async handle(turn: ChatTurn, sink: TurnSink, signal: AbortSignal): Promise<void> {
    if (!turn.text.startsWith('Here is a long answer')) return this.echo.handle(turn, sink, signal);
    for (const word of wordsOf(turn.text)) {
      if (signal.aborted) return;
      sink.token(word);
      await new Promise((r) => setTimeout(r, 60));
    }
  }
  async keepSpoken(turn: ChatTurn, spoken: string): Promise<void> {
    this.kept.push({ turnId: turn.turnId, text: turn.text, spoken });
  }
}

export class Client {
  readonly events: Ev[] = [];
  #wake: (() => void)[] = [];
  closed = false;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = data as Buffer;
      this.events.push(isBinary ? { type: '(audio)', bytes: buf.length } : (JSON.parse(String(buf)) as Ev));
      this.#notify();
    });
    ws.on('close', () => {
      this.closed = true;
      this.#notify();
    });
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  async next(what: string, pred: (e: Ev) => boolean, from = 0): Promise<Ev> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const found = this.events.slice(from).find(pred);
      if (found) return found;
      if (this.closed || Date.now() > deadline) {
        const tail = JSON.stringify(this.events.filter((e) => e.type !== '(audio)').slice(-6));
        throw new Error(`no ${what}; last: ${tail.slice(0, 1500)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.#wake.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Streams PCM as 20 ms frames: paced like a microphone, or as fast as the socket takes them. */
  async stream(pcm: Buffer, realTime = false): Promise<void> {
    const start = performance.now();
    let i = 0;
    for (const f of frames(pcm)) {
      this.ws.send(f, { binary: true });
      i++;
      if (realTime) {
        const due = start + i * 20 - performance.now();
        if (due > 0) await new Promise((r) => setTimeout(r, due));
      } else if (i % 25 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  index(pred: (e: Ev) => boolean, from = 0): number {
    const i = this.events.slice(from).findIndex(pred);
    return i < 0 ? -1 : i + from;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const w of wake) w();
  }
}

/** The API environment, the scripted speech server, the VAD model, and voice apps on loopback. */
export class VoiceTestEnv {
  api!: ApiEnv;
  fake!: FakeSpeech;
  handler = new RecordingHandler();
  url = '';
  #model!: VoiceEngines['vad'];
  readonly #apps: FastifyInstance[] = [];
  readonly #speakers: EspeakTextToSpeech[] = [];
  readonly #clients: Client[] = [];

  async start(): Promise<void> {
    [this.api, this.fake, this.#model] = await Promise.all([startApiEnv(), startFakeSpeech(), loadSileroModel()]);
    this.url = await this.app();
  }

  async close(): Promise<void> {
    for (const c of this.#clients) c.ws.close();
    await Promise.all(this.#apps.map((a) => a.close()));
    await Promise.all(this.#speakers.map((s) => s.close()));
    await this.fake?.close();
    await this.api?.close();
  }

  /** A `/v1/ws` app with voice (espeak-ng answers, 500 ms end silence unless `detector` says otherwise); its URL. */
  async app(
    detector: Partial<TurnDetectorOptions> = {},
    options: Partial<Omit<VoiceOptions, 'detector'>> & { stt?: VoiceEngines['stt'] } = {},
  ): Promise<string> {
    const { stt, ...rest } = options;
    const tts = new EspeakTextToSpeech({ wordsPerMinute: 220 });
    this.#speakers.push(tts);
    const voice: VoiceEngines = {
      stt:
        stt ??
        new OpenAiSpeechToText({
          baseUrl: this.fake.openaiUrl,
          apiKey: 'sk-test',
          model: 'whisper-1',
          timeoutMs: 5000,
        }),
      tts,
      vad: this.#model,
      options: {
        ...VOICE_DEFAULTS,
        sttTimeoutMs: 1000,
        outputLeadMs: 100,
        ...rest,
        detector: { endSilenceMs: 500, ...detector },
      },
    };
    const app = Fastify();
    await app.register(errorsPlugin);
    await app.register(authPlugin, { deps: this.api.deps.auth });
    await app.register(wsRoutes, {
      prefix: '/v1',
      deps: this.api.deps,
      handler: this.handler,
      voice,
      voiceFramesPerSecond: 100_000,
      voiceFrameBurst: 100_000,
    });
    this.#apps.push(app);
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    return `${address.replace(/^http/, 'ws')}/v1/ws`;
  }

  /** A signed-in client of a new workspace, once `ready`. */
  async connect(at = this.url): Promise<Client> {
    const { workspaceId, userId } = await this.api.env.newWorkspace();
    const session = await createSession(this.api.deps.db, userId, 'voice.test');
    const token = await this.api.deps.auth.signer.sign({ userId, sessionId: session.id, workspaceId });
    const ws = new WebSocket(at, { headers: { authorization: `Bearer ${token}` } });
    const c = new Client(ws);
    this.#clients.push(c);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await c.next('ready', (e) => e.type === 'ready');
    return c;
  }
}

export async function startVoice(c: Client): Promise<Ev> {
  const from = c.events.length;
  c.send({ type: 'voice_start', sampleRate: 16000 });
  return c.next('voice_started', (e) => e.type === 'voice_started' || e.type === 'error', from);
}

/** One utterance laid on quiet noise: lead-in, speech, and a pause long enough to end the turn. */
export const utterance = async (text: string, seed = 1) =>
  Buffer.concat([quiet(300, seed), await speech(text), quiet(900, seed + 1)]);

export const finalTranscript = (c: Client, from: number) =>
  c.next('final transcript', (e) => (e.type === 'transcript' && e.final === true) || e.type === 'error', from);
