/**
 * Each provider end to end through its real LangChain wrapper and SDK, against the scripted
 * fake LLM server: streamed text, tool calls and reported usage.
 */
import { tool } from '@langchain/core/tools';
import { concat } from '@langchain/core/utils/stream';
import type { AIMessageChunk } from '@langchain/core/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createChatModel, DEFAULT_MODELS, type ModelSpec, type ProviderSettings } from '../../agent/models/index.js';
import { startFakeLlm, type FakeLlm } from '../fakes/llm/index.js';

let fake: FakeLlm;
let providers: ProviderSettings;

beforeAll(async () => {
  fake = await startFakeLlm();
  providers = {
    ollama: { baseUrl: fake.ollamaUrl },
    groq: { apiKey: 'gsk-test', baseUrl: fake.groqUrl },
    anthropic: { apiKey: 'sk-ant-test', baseUrl: fake.anthropicUrl },
    openai: { apiKey: 'sk-test', baseUrl: fake.openaiUrl },
  };
});
afterAll(() => fake.close());

const spec = (provider: ModelSpec['provider']) => DEFAULT_MODELS.find((m) => m.provider === provider)!;
const schedulePost = tool(async () => 'ok', {
  name: 'schedule_post',
  description: 'Schedule a post',
  schema: z.object({ text: z.string(), at: z.string() }),
});

async function collect(stream: AsyncIterable<AIMessageChunk>) {
  const chunks: AIMessageChunk[] = [];
  for await (const c of stream) chunks.push(c);
  return { chunks, message: chunks.reduce((a, b) => concat(a, b)) };
}

const cases = [
  { provider: 'ollama', protocol: 'ollama' },
  { provider: 'groq', protocol: 'openai' },
  { provider: 'anthropic', protocol: 'anthropic' },
  { provider: 'openai', protocol: 'openai' },
] as const;

describe.each(cases)('$provider through its SDK', ({ provider, protocol }) => {
  it('streams the reply token by token and reports usage', async () => {
    fake.script(protocol, [{ text: 'Three short posts about spring', usage: { input: 42, output: 7 } }]);
    const model = createChatModel(spec(provider), providers);
    const { chunks, message } = await collect(await model.stream([['user', 'Draft something about spring']]));
    const textChunks = chunks.filter((c) => typeof c.content === 'string' && c.content.length > 0);
    expect(textChunks.length).toBeGreaterThanOrEqual(5);
    expect(message.content).toBe('Three short posts about spring');
    const usage = message.usage_metadata ?? {
      input_tokens: (message.response_metadata as { usage?: { prompt_tokens: number } }).usage?.prompt_tokens,
      output_tokens: (message.response_metadata as { usage?: { completion_tokens: number } }).usage?.completion_tokens,
    };
    expect(usage.input_tokens).toBe(42);
    // LangChain adds message_start's first output token to message_delta's running total;
    // the router counts the total alone (router.test.ts, "usage as the provider reports it").
    expect(usage.output_tokens).toBe(provider === 'anthropic' ? 8 : 7);
    const req = fake.requests.at(-1)!;
    expect(req.protocol).toBe(protocol);
    expect(req.body.model).toBe(spec(provider).model);
  });

  it('streams tool calls the model makes', async () => {
    fake.script(protocol, (req) => {
      expect(req.tools).toEqual(['schedule_post']);
      return { toolCalls: [{ name: 'schedule_post', args: { text: 'Hello spring', at: '2026-04-01T09:00' } }] };
    });
    const model = createChatModel(spec(provider), providers).bindTools!([schedulePost]);
    const { message } = await collect(await model.stream([['user', 'Schedule hello spring for April 1st 9am']]));
    expect(message.tool_calls).toHaveLength(1);
    expect(message.tool_calls![0]).toMatchObject({
      name: 'schedule_post',
      args: { text: 'Hello spring', at: '2026-04-01T09:00' },
    });
  });

  it('sends the API key the provider needs and none other', () => {
    const req = fake.requests.filter((r) => r.protocol === protocol).at(-1)!;
    if (provider === 'anthropic') expect(req.headers['x-api-key']).toBe('sk-ant-test');
    else if (provider === 'groq') expect(req.headers.authorization).toBe('Bearer gsk-test');
    else if (provider === 'openai') expect(req.headers.authorization).toBe('Bearer sk-test');
    else expect(req.headers.authorization).toBeUndefined();
  });
});

describe('fake LLM server faults reach the SDK as errors', () => {
  it('a 529 from Anthropic is an overloaded error', async () => {
    fake.script('anthropic', [{ status: 529 }]);
    const model = createChatModel(spec('anthropic'), providers);
    await expect((async () => collect(await model.stream([['user', 'hi']])))()).rejects.toThrow(
      /529.*overloaded_error/,
    );
  });

  it('a 429 from OpenAI is a rate-limit error', async () => {
    fake.script('openai', [{ status: 429, retryAfterS: 1 }]);
    const model = createChatModel(spec('openai'), providers);
    await expect((async () => collect(await model.stream([['user', 'hi']])))()).rejects.toThrow(/429/);
  });

  it('a stream cut in the middle fails after the first tokens', async () => {
    fake.script('ollama', [{ text: 'one two three four five', cutAfterChunks: 2 }]);
    const model = createChatModel(spec('ollama'), providers);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const c of await model.stream([['user', 'count']])) seen.push(String(c.content));
      })(),
    ).rejects.toThrow();
    expect(seen.join('')).toBe('one two ');
  });
});
