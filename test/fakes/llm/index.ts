/**
 * Scripted LLM servers for tests and benchmarks: one loopback HTTP server that speaks
 * Ollama (`/api/chat` NDJSON, `/api/tags`, `/api/pull`, `/api/embed`, `/api/version`),
 * OpenAI (`/v1/chat/completions` SSE with tool calls and usage, `/v1/embeddings`; Groq's copy under
 * `/openai/v1/...`) and Anthropic (`/v1/messages` SSE with `tool_use` blocks and usage).
 *
 * A test points the real SDK at `ollamaUrl`, `openaiUrl`, `groqUrl` or `anthropicUrl` and
 * scripts each protocol with a list of replies or a function of the request; a reply can
 * also be a fault (status 429/500/529, a hang, a slow start, a stream cut in the middle).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  anthropicError,
  anthropicReply,
  ollamaError,
  ollamaReply,
  openaiError,
  openaiReply,
  type WireReply,
} from './protocols.js';
import { ScriptPlayer, type FakeChatRequest, type FakeProtocol, type FakeReply, type FakeScript } from './script.js';

export type { FakeChatRequest, FakeProtocol, FakeReply, FakeScript, FakeToolCall } from './script.js';

export interface FakeLlmOptions {
  ollama?: FakeScript;
  openai?: FakeScript;
  anthropic?: FakeScript;
  /** Answer when a reply list runs out. Default: a 500 saying the script is exhausted. */
  fallback?: FakeReply;
  /** Models `/api/tags` lists. Default: `['llama3.2:3b']`. */
  ollamaModels?: string[];
  /**
   * Models `/api/pull` can fetch (a valid name not listed fails like an unknown model; an
   * invalid name is refused with 400 `invalid model name`). Default: none.
   */
  pullable?: string[];
  /** Progress lines `/api/pull` streams for the download. Default 4. */
  pullSteps?: number;
  /** Delay between pull progress lines. Default 0. */
  pullStepDelayMs?: number;
  /** Length of `/api/embed` and `/v1/embeddings` vectors. Default 8. */
  embeddingDims?: number;
  /** When set, `/v1/embeddings` answers 401 unless sent `Authorization: Bearer <this>`. */
  openaiEmbeddingKey?: string;
}

export interface FakeRecordedRequest {
  protocol: FakeProtocol | 'ollama-admin';
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
  /**
   * Set once the exchange is over: the response ended, or the client went away (an aborted
   * request closes its socket). A request the fake hangs on stays open until one of those.
   */
  closed: boolean;
}

export interface FakeLlm {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Ollama host (the `ollama` client adds `/api/...`). */
  readonly ollamaUrl: string;
  /** OpenAI SDK `baseURL` (ends in `/v1`). */
  readonly openaiUrl: string;
  /** Groq SDK `baseURL` (the SDK adds `/openai/v1/...`). */
  readonly groqUrl: string;
  /** Anthropic SDK `baseURL` (the SDK adds `/v1/messages`). */
  readonly anthropicUrl: string;
  /** Every request received, in order. */
  readonly requests: FakeRecordedRequest[];
  /** Replace the script of one protocol. */
  script(protocol: FakeProtocol, script: FakeScript): void;
  /** Models currently installed in the fake Ollama. */
  installed(): string[];
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function lastUserText(body: Record<string, unknown>): string {
  const messages = (body.messages as Array<{ role?: string; content?: unknown }> | undefined) ?? [];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  if (Array.isArray(last.content))
    return (last.content as Array<{ type?: string; text?: string }>)
      .filter((p) => p.type === 'text')
      .map((p) => p.text ?? '')
      .join('');
  return '';
}

function toolNames(body: Record<string, unknown>): string[] {
  const tools = (body.tools as Array<{ name?: string; function?: { name?: string } }> | undefined) ?? [];
  return tools.map((t) => t.function?.name ?? t.name ?? '').filter(Boolean);
}

function embedding(text: string, dims: number): number[] {
  const bytes = createHash('sha256').update(text).digest();
  const v = Array.from({ length: dims }, (_, i) => bytes[i % bytes.length]! / 127.5 - 1);
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

async function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (!raw) return {};
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const PROTOCOL_OF_PATH: Record<string, { protocol: FakeProtocol; flavour: FakeChatRequest['flavour'] }> = {
  '/api/chat': { protocol: 'ollama', flavour: 'ollama' },
  '/v1/chat/completions': { protocol: 'openai', flavour: 'openai' },
  '/openai/v1/chat/completions': { protocol: 'openai', flavour: 'groq' },
  '/v1/messages': { protocol: 'anthropic', flavour: 'anthropic' },
};

const WIRE = {
  ollama: { reply: ollamaReply, error: ollamaError },
  openai: { reply: openaiReply, error: openaiError },
  anthropic: { reply: anthropicReply, error: anthropicError },
} as const;

export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<FakeLlm> {
  const players: Record<FakeProtocol, ScriptPlayer> = {
    ollama: new ScriptPlayer(options.ollama ?? [], options.fallback),
    openai: new ScriptPlayer(options.openai ?? [], options.fallback),
    anthropic: new ScriptPlayer(options.anthropic ?? [], options.fallback),
  };
  const installed = new Set(options.ollamaModels ?? ['llama3.2:3b']);
  const pullable = new Set(options.pullable ?? []);
  const requests: FakeRecordedRequest[] = [];
  let closed = false;

  async function writeReply(res: http.ServerResponse, wire: WireReply, reply: FakeReply) {
    res.writeHead(200, { 'content-type': wire.contentType, 'cache-control': 'no-cache' });
    res.flushHeaders();
    let sent = 0;
    if (reply.hangAfterChunks === 0) return;
    for (const frame of wire.frames) {
      if (closed || res.destroyed) return;
      if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
      res.write(frame.data);
      if (!frame.content) continue;
      sent++;
      if (reply.cutAfterChunks !== undefined && sent >= reply.cutAfterChunks) {
        // Let the bytes leave before the connection drops, as a real proxy cut would.
        await sleep(5);
        res.socket?.destroy();
        return;
      }
      if (reply.hangAfterChunks !== undefined && sent >= reply.hangAfterChunks) return;
    }
    res.end();
  }

  async function chat(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
    body: Record<string, unknown>,
  ) {
    const { protocol, flavour } = PROTOCOL_OF_PATH[path]!;
    const chatReq: FakeChatRequest = {
      protocol,
      flavour,
      model: String(body.model ?? ''),
      // Ollama streams unless told not to; OpenAI and Anthropic only when asked.
      stream: protocol === 'ollama' ? body.stream !== false : body.stream === true,
      body,
      tools: toolNames(body),
      lastUserText: lastUserText(body),
    };
    const reply = await players[protocol].next(chatReq);
    if (reply.hang) return;
    if (reply.delayMs) await sleep(reply.delayMs);
    if (closed) return;
    if (reply.status && reply.status >= 400) {
      const message = reply.text ?? (reply.status === 529 ? 'Overloaded' : `fake error ${reply.status}`);
      return sendJson(res, reply.status, WIRE[protocol].error(reply.status, message), {
        ...(reply.retryAfterS !== undefined ? { 'retry-after': String(reply.retryAfterS) } : {}),
      });
    }
    if (protocol === 'ollama' && !installed.has(chatReq.model))
      return sendJson(res, 404, { error: `model "${chatReq.model}" not found, try pulling it first` });
    await writeReply(res, WIRE[protocol].reply(chatReq, reply), reply);
  }

  async function pull(res: http.ServerResponse, body: Record<string, unknown>) {
    const model = String(body.model ?? body.name ?? '');
    // Ollama refuses a name it cannot parse before streaming anything: 400 with its error
    // text (https://github.com/ollama/ollama/blob/main/docs/api.md#errors). A name is
    // [host/][namespace/]model[:tag]; more parts, or a part over 80 characters, is invalid.
    const [path, tag = ''] = model.split(':');
    const parts = (path ?? '').split('/');
    if (!model || parts.length > 3 || parts.some((p) => !p || p.length > 80) || tag.length > 80)
      return sendJson(res, 400, { error: 'invalid model name' });
    const stream = body.stream !== false;
    res.writeHead(200, { 'content-type': stream ? 'application/x-ndjson' : 'application/json' });
    const line = (obj: unknown) => stream && res.write(`${JSON.stringify(obj)}\n`);
    line({ status: 'pulling manifest' });
    if (!pullable.has(model) && !installed.has(model)) {
      res.end(`${JSON.stringify({ error: 'pull model manifest: file does not exist' })}\n`);
      return;
    }
    const total = 1_000_000;
    const steps = options.pullSteps ?? 4;
    const digest = `sha256:${createHash('sha256').update(model).digest('hex')}`;
    for (let i = 1; i <= steps; i++) {
      if (options.pullStepDelayMs) await sleep(options.pullStepDelayMs);
      if (closed) return;
      line({ status: `pulling ${digest.slice(7, 19)}`, digest, total, completed: Math.round((total * i) / steps) });
    }
    line({ status: 'verifying sha256 digest' });
    line({ status: 'writing manifest' });
    installed.add(model);
    res.end(`${JSON.stringify({ status: 'success' })}\n`);
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://fake').pathname;
      const body = req.method === 'POST' ? await readBody(req) : {};
      const chatRoute = PROTOCOL_OF_PATH[path];
      const record: FakeRecordedRequest = {
        protocol: chatRoute?.protocol ?? 'ollama-admin',
        path,
        headers: req.headers,
        body,
        closed: false,
      };
      requests.push(record);
      res.once('close', () => (record.closed = true));
      if (chatRoute && req.method === 'POST') return chat(req, res, path, body);
      if (path === '/api/version') return sendJson(res, 200, { version: '0.6.0-fake' });
      if (path === '/api/tags')
        return sendJson(res, 200, {
          models: [...installed].map((name) => ({
            name,
            model: name,
            modified_at: new Date(0).toISOString(),
            size: 2_000_000_000,
            digest: createHash('sha256').update(name).digest('hex'),
            details: { format: 'gguf', family: name.split(':')[0], parameter_size: '3B', quantization_level: 'Q4_K_M' },
          })),
        });
      if (path === '/api/pull' && req.method === 'POST') return pull(res, body);
      if (path === '/api/embed' && req.method === 'POST') {
        const input = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input ?? '')];
        return sendJson(res, 200, {
          model: body.model,
          embeddings: input.map((t) => embedding(t, options.embeddingDims ?? 8)),
          prompt_eval_count: input.reduce((n, t) => n + Math.ceil(t.length / 4), 0),
        });
      }
      if (path === '/v1/embeddings' && req.method === 'POST') {
        const key = options.openaiEmbeddingKey;
        if (key && req.headers.authorization !== `Bearer ${key}`)
          return sendJson(res, 401, {
            error: { message: 'Incorrect API key provided', type: 'invalid_request_error' },
          });
        const input = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input ?? '')];
        // Reversed on purpose: clients must order by `index`, as the API says.
        const data = input.map((t, index) => ({
          object: 'embedding',
          index,
          embedding: embedding(t, options.embeddingDims ?? 8),
        }));
        return sendJson(res, 200, {
          object: 'list',
          data: data.reverse(),
          model: body.model,
          usage: { prompt_tokens: 0, total_tokens: 0 },
        });
      }
      sendJson(res, 404, { error: `fake: no route ${req.method} ${path}` });
    })().catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    ollamaUrl: url,
    openaiUrl: `${url}/v1`,
    groqUrl: url,
    anthropicUrl: url,
    requests,
    script(protocol, script) {
      players[protocol] = new ScriptPlayer(script, options.fallback);
    },
    installed: () => [...installed],
    async close() {
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
