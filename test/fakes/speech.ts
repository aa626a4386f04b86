/**
 * A scripted speech server for tests and benchmarks, on loopback. It speaks the wire formats
 * Herald's engines use: OpenAI's `POST /v1/audio/transcriptions` (multipart, `file` + `model`)
 * and `POST /v1/audio/speech` (JSON in, raw 24 kHz PCM out for `response_format: pcm`), Groq's
 * copy of the transcriptions endpoint under `/openai/v1/...`, and whisper.cpp's server
 * `POST /inference`. The real `openai` and `groq-sdk` clients are pointed at it.
 * Wire formats from https://platform.openai.com/docs/api-reference/audio/createTranscription
 * (multipart `file`, `model`, `response_format`; JSON `{ "text" }` back; errors as
 * `{ "error": { "message" } }`), https://platform.openai.com/docs/api-reference/audio/createSpeech
 * and https://console.groq.com/docs/speech-to-text (the same under `/openai/v1`).
 *
 * Transcriptions answer from a script: a list of replies taken in order (then `fallback`), or
 * a function of the request. A reply is the text, or a fault: an HTTP status, a hang, a delay.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeWav, type Pcm } from '../../voice/index.js';

export type SttReply = string | { text: string; delayMs?: number } | { status: number; body?: string } | { hang: true };

export interface SttRequest {
  path: string;
  model: string | null;
  fileName: string | null;
  /** The uploaded WAV, decoded. */
  audio: Pcm;
  fields: Record<string, string>;
  /** The Authorization header as sent. */
  authorization: string | undefined;
}

export interface SpeechRequest {
  model: string;
  voice: string;
  input: string;
  responseFormat: string | undefined;
  authorization: string | undefined;
}

export interface FakeSpeechOptions {
  transcribe?: SttReply[] | ((req: SttRequest) => SttReply);
  /** When the list runs out. Default: a 500 saying so. */
  fallback?: SttReply;
  /** Milliseconds of audio `/audio/speech` returns per character of input. Default 4. */
  speechMsPerChar?: number;
}

export interface FakeSpeech {
  readonly url: string;
  /** `baseURL` for the openai client (ends in `/v1`). */
  readonly openaiUrl: string;
  /** `baseURL` for groq-sdk (it adds `/openai/v1/...`). */
  readonly groqUrl: string;
  /** whisper.cpp server URL (Herald adds `/inference`). */
  readonly whisperUrl: string;
  readonly transcriptions: SttRequest[];
  readonly speech: SpeechRequest[];
  /** Replaces the transcription script. */
  script(replies: SttReply[] | ((req: SttRequest) => SttReply)): void;
  close(): Promise<void>;
}

const SPEECH_RATE = 24_000;

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A soft tone, so the audio is not silence (a client's own VAD would hear it). */
function tone(ms: number): Buffer {
  const n = Math.round((SPEECH_RATE * ms) / 1000);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++)
    out.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 220 * i) / SPEECH_RATE)), i * 2);
  return out;
}

export async function startFakeSpeech(options: FakeSpeechOptions = {}): Promise<FakeSpeech> {
  let script = options.transcribe ?? [];
  const transcriptions: SttRequest[] = [];
  const speech: SpeechRequest[] = [];
  const hanging = new Set<http.ServerResponse>();

  const next = (req: SttRequest): SttReply => {
    if (typeof script === 'function') return script(req);
    return script.shift() ?? options.fallback ?? { status: 500, body: '{"error":{"message":"script exhausted"}}' };
  };

  const transcription = async (req: http.IncomingMessage, res: http.ServerResponse, path: string, whisper: boolean) => {
    const body = await readBody(req);
    const form = await new Request('http://fake', {
      method: 'POST',
      headers: { 'content-type': req.headers['content-type'] ?? '' },
      body,
    }).formData();
    const fields: Record<string, string> = {};
    let file: File | null = null;
    for (const [k, v] of form.entries()) {
      if (typeof v === 'string') fields[k] = v;
      else if (k === 'file') file = v as File;
    }
    if (!file) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"no file"}}');
      return;
    }
    const audio = decodeWav(Buffer.from(await file.arrayBuffer()));
    const request: SttRequest = {
      path,
      model: fields.model ?? null,
      fileName: file.name,
      audio,
      fields,
      authorization: req.headers.authorization,
    };
    transcriptions.push(request);
    const reply = next(request);
    if (typeof reply === 'object' && 'hang' in reply) {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (typeof reply === 'object' && 'status' in reply) {
      res
        .writeHead(reply.status, { 'content-type': 'application/json' })
        .end(reply.body ?? '{"error":{"message":"scripted failure"}}');
      return;
    }
    const { text, delayMs } = typeof reply === 'string' ? { text: reply, delayMs: 0 } : reply;
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(whisper ? { text: ` ${text}\n` } : { text }));
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const fail = (err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(err) } }));
    };
    if (req.method === 'POST' && (path === '/v1/audio/transcriptions' || path === '/openai/v1/audio/transcriptions')) {
      transcription(req, res, path, false).catch(fail);
      return;
    }
    if (req.method === 'POST' && path === '/inference') {
      transcription(req, res, path, true).catch(fail);
      return;
    }
    if (req.method === 'POST' && path === '/v1/audio/speech') {
      readBody(req)
        .then((raw) => {
          const b = JSON.parse(raw.toString()) as {
            model: string;
            voice: string;
            input: string;
            response_format?: string;
          };
          speech.push({
            model: b.model,
            voice: b.voice,
            input: b.input,
            responseFormat: b.response_format,
            authorization: req.headers.authorization,
          });
          const ms = Math.max(40, b.input.length * (options.speechMsPerChar ?? 4));
          res.writeHead(200, { 'content-type': 'audio/pcm' }).end(tone(ms));
        })
        .catch(fail);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no such route"}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    openaiUrl: `${url}/v1`,
    groqUrl: url,
    whisperUrl: url,
    transcriptions,
    speech,
    script(replies) {
      script = replies;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
