/**
 * The wire formats of the three chat protocols the fake speaks, as data: a reply becomes a
 * list of frames (streaming) or one JSON body, and a fault becomes the protocol's own error
 * body. Shapes follow the public API references of Ollama, OpenAI (and Groq's copy of it)
 * and Anthropic, closely enough that the official SDKs parse them.
 */
import { randomUUID } from 'node:crypto';
import { roughTokens, textPieces, type FakeChatRequest, type FakeReply } from './script.js';

export interface Frame {
  data: string;
  /** A content frame (a token or a tool call); faults count these. */
  content: boolean;
}

export interface WireReply {
  contentType: string;
  frames: Frame[];
}

const shortId = () => randomUUID().replaceAll('-', '').slice(0, 24);

export function usageOf(req: FakeChatRequest, reply: FakeReply): { input: number; output: number } {
  if (reply.usage) return reply.usage;
  const promptText = JSON.stringify(req.body.messages ?? req.body.prompt ?? '');
  const out = (reply.text ?? '') + JSON.stringify(reply.toolCalls ?? []);
  return { input: roughTokens(promptText), output: reply.toolCalls || reply.text ? roughTokens(out) : 0 };
}

function toolCallsWithIds(reply: FakeReply, prefix: string) {
  return (reply.toolCalls ?? []).map((c) => ({ ...c, id: c.id ?? `${prefix}${shortId()}` }));
}

// --- OpenAI (and Groq) ----------------------------------------------------------------------

export function openaiReply(req: FakeChatRequest, reply: FakeReply): WireReply {
  const id = `chatcmpl-${shortId()}`;
  const created = Math.floor(Date.now() / 1000);
  const calls = toolCallsWithIds(reply, 'call_');
  const usage = usageOf(req, reply);
  const usageBody = {
    prompt_tokens: usage.input,
    completion_tokens: usage.output,
    total_tokens: usage.input + usage.output,
  };
  const finish = calls.length > 0 ? 'tool_calls' : 'stop';
  const base = { id, object: 'chat.completion.chunk', created, model: req.model, system_fingerprint: 'fp_fake' };

  if (!req.stream) {
    const body = {
      id,
      object: 'chat.completion',
      created,
      model: req.model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: reply.text ?? (calls.length > 0 ? null : ''),
            ...(calls.length > 0
              ? {
                  tool_calls: calls.map((c) => ({
                    id: c.id,
                    type: 'function',
                    function: { name: c.name, arguments: JSON.stringify(c.args) },
                  })),
                }
              : {}),
          },
          finish_reason: finish,
          logprobs: null,
        },
      ],
      usage: usageBody,
      ...(req.flavour === 'groq' ? { x_groq: { id: `req_${shortId()}`, usage: usageBody } } : {}),
    };
    return { contentType: 'application/json', frames: [{ data: JSON.stringify(body), content: true }] };
  }

  const sse = (obj: unknown, content: boolean): Frame => ({ data: `data: ${JSON.stringify(obj)}\n\n`, content });
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  });
  const frames: Frame[] = [sse(chunk({ role: 'assistant', content: '' }), false)];
  for (const piece of textPieces(reply.text)) frames.push(sse(chunk({ content: piece }), true));
  calls.forEach((c, index) => {
    frames.push(
      sse(
        chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }),
        true,
      ),
    );
    frames.push(sse(chunk({ tool_calls: [{ index, function: { arguments: JSON.stringify(c.args) } }] }), true));
  });
  frames.push(
    sse(
      {
        ...chunk({}, finish),
        ...(req.flavour === 'groq' ? { x_groq: { id: `req_${shortId()}`, usage: usageBody } } : {}),
      },
      false,
    ),
  );
  const options = req.body.stream_options as { include_usage?: boolean } | undefined;
  if (options?.include_usage) frames.push(sse({ ...base, choices: [], usage: usageBody }, false));
  frames.push({ data: 'data: [DONE]\n\n', content: false });
  return { contentType: 'text/event-stream', frames };
}

export function openaiError(status: number, message: string) {
  const type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message, type, param: null, code: type } };
}

// --- Anthropic ------------------------------------------------------------------------------

export function anthropicReply(req: FakeChatRequest, reply: FakeReply): WireReply {
  const id = `msg_${shortId()}`;
  const calls = toolCallsWithIds(reply, 'toolu_');
  const usage = usageOf(req, reply);
  const stopReason = calls.length > 0 ? 'tool_use' : 'end_turn';

  if (!req.stream) {
    const content = [
      ...(reply.text ? [{ type: 'text', text: reply.text }] : []),
      ...calls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: c.args })),
    ];
    const body = {
      id,
      type: 'message',
      role: 'assistant',
      model: req.model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { input_tokens: usage.input, output_tokens: usage.output },
    };
    return { contentType: 'application/json', frames: [{ data: JSON.stringify(body), content: true }] };
  }

  const event = (type: string, obj: Record<string, unknown>, content = false): Frame => ({
    data: `event: ${type}\ndata: ${JSON.stringify({ type, ...obj })}\n\n`,
    content,
  });
  const frames: Frame[] = [
    event('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model: req.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        // As the streaming docs show it (https://docs.anthropic.com/en/docs/build-with-claude/streaming):
        // message_start already counts a first output token; message_delta then carries the
        // cumulative total, so a client must not add the two.
        usage: { input_tokens: usage.input, output_tokens: Math.min(1, usage.output) },
      },
    }),
    event('ping', {}),
  ];
  let index = 0;
  const pieces = textPieces(reply.text);
  if (pieces.length > 0) {
    frames.push(event('content_block_start', { index, content_block: { type: 'text', text: '' } }));
    for (const text of pieces)
      frames.push(event('content_block_delta', { index, delta: { type: 'text_delta', text } }, true));
    frames.push(event('content_block_stop', { index }));
    index++;
  }
  for (const c of calls) {
    frames.push(
      event(
        'content_block_start',
        { index, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } },
        true,
      ),
    );
    frames.push(
      event(
        'content_block_delta',
        { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(c.args) } },
        true,
      ),
    );
    frames.push(event('content_block_stop', { index }));
    index++;
  }
  frames.push(
    event('message_delta', {
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.output },
    }),
  );
  frames.push(event('message_stop', {}));
  return { contentType: 'text/event-stream', frames };
}

export function anthropicError(status: number, message: string) {
  const type =
    status === 529
      ? 'overloaded_error'
      : status === 429
        ? 'rate_limit_error'
        : status === 401
          ? 'authentication_error'
          : status >= 500
            ? 'api_error'
            : 'invalid_request_error';
  return { type: 'error', error: { type, message } };
}

// --- Ollama ---------------------------------------------------------------------------------

export function ollamaReply(req: FakeChatRequest, reply: FakeReply): WireReply {
  const usage = usageOf(req, reply);
  const createdAt = new Date().toISOString();
  const toolCalls = (reply.toolCalls ?? []).map((c) => ({ function: { name: c.name, arguments: c.args } }));
  const done = {
    model: req.model,
    created_at: createdAt,
    done: true,
    done_reason: 'stop',
    total_duration: 1_000_000,
    load_duration: 1_000,
    prompt_eval_count: usage.input,
    prompt_eval_duration: 1_000,
    eval_count: usage.output,
    eval_duration: 1_000,
  };
  if (!req.stream) {
    const body = {
      ...done,
      message: { role: 'assistant', content: reply.text ?? '', ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
    };
    return { contentType: 'application/json', frames: [{ data: JSON.stringify(body), content: true }] };
  }
  const line = (obj: unknown, content: boolean): Frame => ({ data: `${JSON.stringify(obj)}\n`, content });
  const frames: Frame[] = textPieces(reply.text).map((content) =>
    line({ model: req.model, created_at: createdAt, message: { role: 'assistant', content }, done: false }, true),
  );
  if (toolCalls.length > 0)
    frames.push(
      line(
        {
          model: req.model,
          created_at: createdAt,
          message: { role: 'assistant', content: '', tool_calls: toolCalls },
          done: false,
        },
        true,
      ),
    );
  frames.push(line({ ...done, message: { role: 'assistant', content: '' } }, false));
  return { contentType: 'application/x-ndjson', frames };
}

export function ollamaError(_status: number, message: string) {
  return { error: message };
}
