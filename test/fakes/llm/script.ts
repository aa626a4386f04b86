/**
 * What a scripted fake LLM server answers: a list of replies taken in order, or a function
 * of the request. A reply is either a normal answer (text, tool calls, usage) or a fault
 * (an HTTP error, a hang, a slow start, a stream cut in the middle).
 */

export type FakeProtocol = 'ollama' | 'openai' | 'anthropic';

export interface FakeToolCall {
  name: string;
  args: Record<string, unknown>;
  /** Defaults to a generated id. */
  id?: string;
}

export interface FakeReply {
  /** Streamed word by word. */
  text?: string;
  toolCalls?: FakeToolCall[];
  /** Reported token counts; default: a rough count of the prompt and of the reply. */
  usage?: { input: number; output: number };
  /** Answer with this HTTP status and the protocol's error body (429, 500, 529...). */
  status?: number;
  /** With `status` 429: the Retry-After header, in seconds. */
  retryAfterS?: number;
  /** Never answer: no headers, no body. The socket is closed when the fake closes. */
  hang?: boolean;
  /** Wait this long before the headers. */
  delayMs?: number;
  /** Wait this long between streamed chunks. */
  chunkDelayMs?: number;
  /** Send this many content chunks, then stop writing and keep the connection open. */
  hangAfterChunks?: number;
  /** Send this many content chunks, then destroy the socket. */
  cutAfterChunks?: number;
}

/** What the script sees of one chat request. */
export interface FakeChatRequest {
  protocol: FakeProtocol;
  /** `groq` when the OpenAI protocol was reached under Groq's `/openai/v1` path. */
  flavour: FakeProtocol | 'groq';
  model: string;
  stream: boolean;
  /** The request body as sent by the SDK. */
  body: Record<string, unknown>;
  /** Names of the tools offered to the model. */
  tools: string[];
  /** Text of the last user message. */
  lastUserText: string;
}

export type FakeScript = FakeReply[] | ((req: FakeChatRequest) => FakeReply | Promise<FakeReply>);

/** A script being played: list replies are consumed; the function is asked each time. */
export class ScriptPlayer {
  #script: FakeScript;
  readonly #fallback: FakeReply | undefined;

  constructor(script: FakeScript, fallback?: FakeReply) {
    this.#script = Array.isArray(script) ? [...script] : script;
    this.#fallback = fallback;
  }

  async next(req: FakeChatRequest): Promise<FakeReply> {
    if (typeof this.#script === 'function') return this.#script(req);
    const reply = this.#script.shift() ?? this.#fallback;
    if (!reply) return { status: 500, text: `fake ${req.protocol}: no scripted reply left for ${req.model}` };
    return reply;
  }

  get remaining(): number {
    return typeof this.#script === 'function' ? Infinity : this.#script.length;
  }
}

/** Rough token count (4 characters a token), used when a reply does not script its usage. */
export function roughTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** The text split into word pieces, each a streamed chunk. */
export function textPieces(text: string | undefined): string[] {
  if (!text) return [];
  return text.match(/\s*\S+\s*/g) ?? [text];
}
