/**
 * Chat models per provider, through the LangChain wrappers (which use the providers' own
 * SDKs and give LangGraph token streaming): `ChatOllama`, `ChatGroq`, `ChatAnthropic`, and
 * `ChatOpenAI` for any OpenAI-compatible endpoint. Credentials come in as typed options,
 * never from the environment here; SDK retries are off because the router fails over itself.
 * Every request is cancelled through its own AbortSignal, so an abandoned call closes its
 * socket even when the server has not sent headers yet.
 */
import { ChatAnthropic } from '@langchain/anthropic';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { ChatGroq } from '@langchain/groq';
import { ChatOllama } from '@langchain/ollama';
import { ChatOpenAI } from '@langchain/openai';
import type { ModelSpec, ProviderName } from './registry.js';

export interface ProviderSettings {
  /** Ollama host, e.g. `http://127.0.0.1:11434`. Unset: no local models. */
  ollama?: { baseUrl: string };
  groq?: { apiKey: string; baseUrl?: string };
  anthropic?: { apiKey: string; baseUrl?: string };
  /** Any OpenAI-compatible endpoint; local servers (vLLM, LM Studio) often need no key. */
  openai?: { apiKey?: string; baseUrl?: string };
}

export interface ChatModelOptions {
  maxOutputTokens?: number;
  temperature?: number;
  /**
   * Cancels every request of this model instance (Ollama only; see `createChatModel`). The
   * other providers take the signal per call, from `stream(messages, { signal })`.
   */
  signal?: AbortSignal;
}

/** Sent as the key to OpenAI-compatible servers that do not check one (vLLM, LM Studio). */
const KEYLESS = 'no-key';

export function configuredProviders(settings: ProviderSettings): Set<ProviderName> {
  const out = new Set<ProviderName>();
  if (settings.ollama) out.add('ollama');
  if (settings.groq) out.add('groq');
  if (settings.anthropic) out.add('anthropic');
  if (settings.openai && (settings.openai.apiKey || settings.openai.baseUrl)) out.add('openai');
  return out;
}

/** A fresh LangChain chat model for one spec. Throws when its provider is not configured. */
export function createChatModel(
  spec: ModelSpec,
  settings: ProviderSettings,
  options: ChatModelOptions = {},
): BaseChatModel {
  const common = {
    model: spec.model,
    maxRetries: 0,
    ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
  };
  switch (spec.provider) {
    case 'ollama': {
      const s = need(settings.ollama, spec);
      return new ChatOllama({
        ...common,
        baseUrl: s.baseUrl,
        // The window the router counted on: Ollama's own default is smaller (4,096 on most machines).
        numCtx: spec.contextWindow,
        ...maybe('numPredict', options.maxOutputTokens),
        ...(options.signal ? { fetch: fetchWithSignal(options.signal) } : {}),
      });
    }
    case 'groq': {
      const s = need(settings.groq, spec);
      return new ChatGroq({
        ...common,
        apiKey: s.apiKey,
        ...(s.baseUrl ? { baseUrl: s.baseUrl } : {}),
        ...maybe('maxTokens', options.maxOutputTokens),
      });
    }
    case 'anthropic': {
      const s = need(settings.anthropic, spec);
      return new ChatAnthropic({
        ...common,
        apiKey: s.apiKey,
        ...(s.baseUrl ? { anthropicApiUrl: s.baseUrl } : {}),
        maxTokens: options.maxOutputTokens ?? 4_096,
      });
    }
    case 'openai': {
      const s = need(settings.openai, spec);
      return new ChatOpenAI({
        ...common,
        apiKey: s.apiKey ?? KEYLESS,
        streamUsage: true,
        ...(s.baseUrl ? { configuration: { baseURL: s.baseUrl } } : {}),
        ...maybe('maxTokens', options.maxOutputTokens),
      });
    }
  }
}

function need<T>(value: T | undefined, spec: ModelSpec): T {
  if (!value) throw new Error(`provider ${spec.provider} is not configured (model ${spec.id})`);
  return value;
}

function maybe<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}

/**
 * A `fetch` that also stops when `signal` aborts. `ChatOllama` does not hand the call's
 * signal to the `ollama` client, whose own `abort()` reaches only requests whose response has
 * arrived; a request Ollama has not answered yet (a model still loading) would stay open and
 * keep Ollama working. So the router builds each Ollama model with this fetch and its call's
 * signal: aborting it closes the socket at once, headers or not.
 */
function fetchWithSignal(signal: AbortSignal): typeof fetch {
  return (input, init) =>
    fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
}
