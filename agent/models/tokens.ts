/**
 * Token arithmetic the router needs without a tokenizer: a prompt-size estimate for the
 * context-window check (about four characters a token, rounded up, which over-counts
 * English slightly — the safe side), whether a streamed chunk carries anything the caller
 * sees, and the usage a finished stream reported (estimated when the provider sent none).
 */
import type { BindToolsInput } from '@langchain/core/language_models/chat_models';
import type { AIMessageChunk, BaseMessageLike } from '@langchain/core/messages';

const CHARS_PER_TOKEN = 4;
/** Per-message overhead (role, separators) most chat templates add. */
const MESSAGE_OVERHEAD = 4;

function textOf(message: BaseMessageLike): string {
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return String(message[1] ?? '');
  const content = (message as { content?: unknown }).content;
  return typeof content === 'string' ? content : JSON.stringify(content ?? '');
}

/** The serialised size of a tool list, per list: callers bind the same list to every call. */
const toolChars = new WeakMap<readonly BindToolsInput[], number>();

function toolCharsOf(tools: readonly BindToolsInput[]): number {
  if (tools.length === 0) return 0;
  let size = toolChars.get(tools);
  if (size === undefined) toolChars.set(tools, (size = JSON.stringify(tools).length));
  return size;
}

export function estimateTokens(messages: readonly BaseMessageLike[], tools: readonly BindToolsInput[] = []): number {
  let chars = toolCharsOf(tools);
  for (const m of messages) chars += textOf(m).length + MESSAGE_OVERHEAD * CHARS_PER_TOKEN;
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

/** The estimated tokens of a tool list's definitions alone (measured once per list). */
export function estimateToolTokens(tools: readonly BindToolsInput[]): number {
  return Math.ceil(toolCharsOf(tools) / CHARS_PER_TOKEN);
}

/** Text or a tool call: something the caller would see. Metadata-only chunks do not count. */
export function chunkCarriesToken(chunk: AIMessageChunk): boolean {
  if ((chunk.tool_call_chunks?.length ?? 0) > 0) return true;
  const content = chunk.content;
  if (typeof content === 'string') return content.length > 0;
  return content.some((part) => {
    const p = part as { type?: string; text?: string };
    return p.type === 'tool_use' || p.type === 'input_json_delta' || (p.type === 'text' && !!p.text);
  });
}

function visibleChars(chunk: AIMessageChunk): number {
  const content = typeof chunk.content === 'string' ? chunk.content : JSON.stringify(chunk.content);
  const args = (chunk.tool_call_chunks ?? []).reduce((n, c) => n + (c.args?.length ?? 0) + (c.name?.length ?? 0), 0);
  return (content === '[]' ? 0 : content.length) + args;
}

/**
 * Input and output tokens of a finished stream: the `usage_metadata` LangChain collected
 * (`cumulativeOutput` for providers whose stream reports a running output total),
 * else the OpenAI-style `usage` (or Groq's `x_groq.usage`) left in the response metadata,
 * else an estimate from the prompt and the text received.
 */
export function usageOfChunks(
  chunks: readonly AIMessageChunk[],
  promptEstimate: number,
  options: { cumulativeOutput?: boolean } = {},
): { input: number; output: number } {
  let input = 0;
  let output = 0;
  let reported = false;
  for (const c of chunks) {
    if (c.usage_metadata) {
      input += c.usage_metadata.input_tokens;
      // Anthropic's message_start counts the first output token and each message_delta
      // carries the running total: the last (largest) figure is the count, not their sum.
      output = options.cumulativeOutput
        ? Math.max(output, c.usage_metadata.output_tokens)
        : output + c.usage_metadata.output_tokens;
      reported = true;
    }
  }
  if (reported) return { input, output };
  for (const c of [...chunks].reverse()) {
    const meta = c.response_metadata as { usage?: RawUsage; x_groq?: { usage?: RawUsage } } | undefined;
    const usage = meta?.usage ?? meta?.x_groq?.usage;
    if (usage?.prompt_tokens !== undefined) return { input: usage.prompt_tokens, output: usage.completion_tokens ?? 0 };
  }
  const chars = chunks.reduce((n, c) => n + visibleChars(c), 0);
  return { input: promptEstimate, output: Math.ceil(chars / CHARS_PER_TOKEN) };
}

interface RawUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}
