/**
 * Speculative turns with the real agent: real espeak-ng speech streamed in real time over
 * `/v1/ws` (Silero VAD, the scripted speech server), the LangGraph agent on PGlite with the
 * scripted model behind the real router. At a short pause the turn starts unseen; a user who
 * goes on gets one answer, to the whole sentence, and the dropped speculation leaves nothing:
 * no thread entry, no tool run, no journal row, and in the usage ledger only its own call.
 */
import { eq } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { threadKey } from '../../agent/index.js';
import { schema } from '../../core/index.js';
import { authPlugin } from '../../server/plugins/auth.js';
import { errorsPlugin } from '../../server/plugins/errors.js';
import { wsRoutes } from '../../server/ws/index.js';
import { EspeakTextToSpeech, loadSileroModel, OpenAiSpeechToText, VOICE_DEFAULTS } from '../../voice/index.js';
import { startAgentEnv, toolResults, type AgentEnv } from '../agent/agent-env.js';
import type { FakeChatRequest } from '../fakes/llm/index.js';
import { quiet, speech } from '../fakes/speech-audio.js';
import { startFakeSpeech, type FakeSpeech } from '../fakes/speech.js';
import { Client, startVoice } from './voice-client.js';

let env: AgentEnv;
let fake: FakeSpeech;
let app: FastifyInstance;
let handler: AgentEnv['handler'];
let url: string;
const tts = new EspeakTextToSpeech({ wordsPerMinute: 220 });

beforeAll(async () => {
  [env, fake] = await Promise.all([startAgentEnv(), startFakeSpeech()]);
  const api = env.api;
  app = Fastify();
  await app.register(errorsPlugin);
  await app.register(authPlugin, { deps: api.deps.auth });
  await app.register(wsRoutes, {
    prefix: '/v1',
    deps: api.deps,
    handler: env.handler,
    voice: {
      stt: new OpenAiSpeechToText({ baseUrl: fake.openaiUrl, apiKey: 'sk-test', model: 'whisper-1', timeoutMs: 5000 }),
      tts,
      vad: await loadSileroModel(),
      options: { ...VOICE_DEFAULTS, outputLeadMs: 100, detector: { endSilenceMs: 500, pauseMs: 200 } },
    },
  });
  url = `${(await app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws')}/v1/ws`;
  handler = env.handler;
});
afterAll(async () => {
  await app?.close();
  await tts.close();
  await fake?.close();
  await env?.close();
});

const lastUser = (req: FakeChatRequest) => {
  const messages = (req.body.messages as Array<{ role: string; content: unknown }> | undefined) ?? [];
  return String(messages.filter((m) => m.role === 'user').at(-1)?.content ?? '');
};

describe('speculative turns', () => {
  it('a pause then more speech: the turn started at the pause is dropped without a trace, one answer to the whole sentence', async () => {
    const { p } = await env.personWithMastodon();
    const ws = new WebSocket(url, [], { headers: p.auth });
    const c = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await c.next('ready', (e) => e.type === 'ready');
    await startVoice(c);
    // The fragment's turn asks for a read-only tool; the whole sentence gets a plain answer.
    env.brain = (req) =>
      lastUser(req).includes('summer sale')
        ? { text: 'Sure. Which account should it go to?' }
        : { toolCalls: [{ name: 'list_accounts', args: {} }] };
    const calls = () => env.llm.requests.filter((r) => r.protocol === 'openai') as unknown as FakeChatRequest[];
    const before = calls().length;
    fake.script([
      { text: 'Schedule a post about', delayMs: 150 },
      { text: 'the summer sale for tomorrow.', delayMs: 150 },
    ]);
    const from = c.events.length;
    await c.stream(
      Buffer.concat([
        quiet(300, 101),
        await speech('Schedule a post about'),
        quiet(800, 102),
        await speech('the summer sale for tomorrow.'),
        quiet(1000, 103),
      ]),
      true,
    );
    const start = await c.next('the answer', (e) => e.type === 'message_start', from);
    await c.next('its end', (e) => e.type === 'message_end' && e.turnId === start.turnId, from);
    await new Promise((r) => setTimeout(r, 500));
    const seen = c.events.slice(from);
    // One turn reached the client, the answer to the whole sentence.
    expect(seen.filter((e) => e.type === 'message_start')).toHaveLength(1);
    expect(seen.filter((e) => e.type === 'tool_start' || e.type === 'confirm_request')).toEqual([]);
    const finals = seen.filter((e) => e.type === 'transcript' && e.final === true);
    expect(finals.at(-1)).toMatchObject({
      use: 'turn',
      turnText: 'Schedule a post about the summer sale for tomorrow.',
    });
    // The fragment's turn did run (speculatively): the model was asked about it, once, and its tool never ran
    // (no request came back with the tool's result).
    const mine = calls().slice(before);
    expect(mine.map(lastUser)).toEqual([
      'Schedule a post about',
      'Schedule a post about the summer sale for tomorrow.',
    ]);
    expect(mine.flatMap(toolResults)).toEqual([]);
    // The thread holds the whole sentence and its answer, nothing of the fragment.
    const turn = handler.turns.get(start.turnId!)!;
    const state = await handler.graph.getState({
      configurable: { thread_id: threadKey(turn.principal.workspaceId, turn.principal.limitKey, turn.threadId) },
    });
    const messages = (state.values as { messages: Array<{ content: unknown }> }).messages;
    expect(messages.map((m) => m.content)).toEqual([
      'Schedule a post about the summer sale for tomorrow.',
      'Sure. Which account should it go to?',
    ]);
    // No journal row; in the usage ledger, the two model calls and nothing more.
    const db = env.api.env.database.db;
    expect(
      await db.select().from(schema.agentActions).where(eq(schema.agentActions.workspaceId, p.workspaceId)),
    ).toEqual([]);
    await env.usage.flush();
    const rows = await db.select().from(schema.usageLedger).where(eq(schema.usageLedger.workspaceId, p.workspaceId));
    expect(rows).toHaveLength(2);
    ws.close();
  });
});
