/**
 * Tool selection: each model call is given the core tools plus what the turn plausibly needs,
 * so a small local model's window holds the request. Shown two ways:
 *
 * - the selection itself, on messages and threads: posts tools for "schedule a post...",
 *   analytics tools for "how did last week go", the thread's tools and a pending call carried,
 *   `more_tools` groups added, the budget kept, every tool in some group;
 * - the agent end to end on a `local_only` workspace (set over REST) whose only model is
 *   `ollama/llama3.2:3b` with its built-in 8,192-token window, through the real router,
 *   LangChain's ChatOllama and the scripted Ollama wire server: the turn is answered by that
 *   model (before selection it was skipped for context and the turn failed with
 *   `model_context_overflow`); a tool that was not given runs when the model calls it, and
 *   `more_tools` gives a group's tools on the next step.
 */
import { AIMessage, HumanMessage, SystemMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desc, eq } from 'drizzle-orm';
import {
  AgentChatHandler,
  CORE_TOOLS,
  DbCheckpointSaver,
  modelTools,
  selectTools,
  TOOL_GROUPS,
  TOOL_SELECTION_DEFAULTS,
  TOOLS,
  type AgentSink,
} from '../../agent/index.js';
import { estimateTokens, LedgerUsageSink, ModelRegistry, ModelRouter } from '../../agent/models/index.js';
import { systemPrompt } from '../../agent/prompt.js';
import { usageLedger } from '../../core/db/schema.js';
import { startFakeLlm, type FakeChatRequest, type FakeLlm, type FakeReply } from '../fakes/llm/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';

const ALL = [...TOOLS.keys()];
const ANALYTICS = TOOL_GROUPS.find((g) => g.name === 'analytics')!.tools;
const CAMPAIGNS = TOOL_GROUPS.find((g) => g.name === 'campaigns')!.tools;
const names = (messages: BaseMessage[]) => selectTools(messages).names;
const tokensOf = (list: readonly string[]) =>
  Math.ceil(JSON.stringify(modelTools().filter((t) => list.includes(t.function.name))).length / 4);

describe('which tools a turn is given', () => {
  it('every tool is in a group, every group names real tools, and the core is small', () => {
    const grouped = new Set(TOOL_GROUPS.flatMap((g) => g.tools));
    expect(ALL.filter((t) => !grouped.has(t) && !CORE_TOOLS.includes(t))).toEqual([]);
    expect([...grouped].filter((t) => !TOOLS.has(t))).toEqual([]);
    expect(tokensOf(CORE_TOOLS)).toBeLessThan(500);
  });

  it('"schedule a post..." gets the posts tools and not analytics or campaigns', () => {
    const got = names([new HumanMessage('Schedule a post about our spring sale for tomorrow at 9 on Mastodon')]);
    expect(got).toEqual(expect.arrayContaining(['draft_post', 'schedule_post', 'list_scheduled', 'reschedule']));
    expect(got).toEqual(expect.arrayContaining([...CORE_TOOLS]));
    expect(got).not.toContain('get_analytics');
    expect(got.filter((t) => CAMPAIGNS.includes(t))).toEqual([]);
  });

  it('"how did last week go" gets the analytics tools and not the posting ones', () => {
    const got = names([new HumanMessage('How did last week go?')]);
    expect(got).toEqual(expect.arrayContaining([...ANALYTICS]));
    expect(got).not.toContain('schedule_post');
    expect(got).not.toContain('publish_now');
  });

  it('a message that points nowhere gets the posts tools; a tool named word for word comes along', () => {
    expect(names([new HumanMessage('hi')])).toContain('schedule_post');
    expect(names([new HumanMessage('can you run link_stats for me')])).toContain('link_stats');
  });

  it("keeps the thread's tools, the call a confirmation waits on and the groups more_tools was asked for", () => {
    const call = (name: string, args: Record<string, unknown> = {}) =>
      new AIMessage({ content: '', tool_calls: [{ id: randomUUID(), name, args, type: 'tool_call' }] });
    // Earlier in the thread: a trend lookup. Now: a message about something else.
    const earlier = [
      new HumanMessage('what is my niche'),
      call('get_trend_niche'),
      new ToolMessage({ tool_call_id: 'x', content: '{}' }),
      new AIMessage('Your niche is coffee.'),
      new HumanMessage('Schedule a post for tomorrow at 9'),
    ];
    expect(names(earlier)).toEqual(expect.arrayContaining(['get_trend_niche', 'schedule_post']));
    // This turn's call (a side effect waiting for its confirmation) is given whatever the words say.
    expect(
      names([new HumanMessage('please do the thing'), call('approve_campaign', { campaignId: randomUUID() })]),
    ).toContain('approve_campaign');
    // more_tools asked for campaigns: the next step has them all.
    expect(
      names([
        new HumanMessage('hi'),
        call('more_tools', { groups: ['campaigns'] }),
        new ToolMessage({ tool_call_id: 'y', content: '{}' }),
      ]),
    ).toEqual(expect.arrayContaining([...CAMPAIGNS]));
  });

  it('stays within its budget, and a model with an 8,192-token window holds the system prompt, a thread and the tools', () => {
    const prompt = systemPrompt(
      { workspaceId: randomUUID(), userId: randomUUID(), role: 'owner', timeZone: 'Europe/Paris', channel: 'ws' },
      new Date(),
      [{ id: randomUUID(), platform: 'mastodon', handle: 'herald@mastodon.example' }] as never,
    );
    const thread = [
      'Schedule a post about our spring sale for tomorrow at 9 on Mastodon',
      'How did last week go?',
      'Create an affiliate campaign for our new product and a tracked link',
      'What is trending in my niche? Suggest hashtags',
      'Set a goal of 1,000 followers and check in with me daily',
      'Post every Monday at 9 and import this CSV too, and show stats, trends and campaigns',
    ];
    const all = modelTools();
    for (const text of thread) {
      const messages = [new SystemMessage(prompt), new HumanMessage(text)];
      const s = selectTools(messages.slice(1));
      expect(s.tokens - tokensOf(CORE_TOOLS), text).toBeLessThanOrEqual(TOOL_SELECTION_DEFAULTS.budgetTokens);
      // About a third of every tool at most, leaving thousands of tokens for the thread.
      expect(estimateTokens(messages, s.tools) + 512, text).toBeLessThan(8_192 - 3_000);
      expect(estimateTokens(messages, all) + 512, text).toBeGreaterThan(8_192);
    }
  });

  it('the same set is the same list (the router keeps its bound model per list); `fit` offers every tool, `all` binds them', () => {
    const a = selectTools([new HumanMessage('How did last week go?')]);
    const b = selectTools([new HumanMessage('how did the week before go')]);
    expect(b.tools).toBe(a.tools);
    expect(selectTools([new HumanMessage('hi')], { mode: 'fit', budgetTokens: 3_000 }).widerTools).toBe(modelTools());
    expect(selectTools([new HumanMessage('hi')], { mode: 'all', budgetTokens: 3_000 }).tools).toBe(modelTools());
  });
});

describe('a local_only workspace on llama3.2:3b (8,192-token window), over the Ollama wire', () => {
  let api: ApiEnv;
  let fake: FakeLlm;
  let usage: LedgerUsageSink;
  let handler: AgentChatHandler;
  let router: ModelRouter;
  let owner: Person;
  let brain: (req: FakeChatRequest) => FakeReply = () => ({ text: 'unscripted' });

  beforeAll(async () => {
    [api, fake] = await Promise.all([
      startApiEnv(),
      // The OpenAI side answers too: only the workspace's policy keeps the turn off it.
      startFakeLlm({ ollamaModels: ['llama3.2:3b'], ollama: (req) => brain(req), openai: () => ({ text: 'cloud' }) }),
    ]);
    const registry = new ModelRegistry();
    registry.syncOllama(['llama3.2:3b']);
    expect(registry.get('ollama/llama3.2:3b')!.contextWindow).toBe(8_192);
    usage = new LedgerUsageSink(api.env.database.db, { cacheMs: 0 });
    router = new ModelRouter({
      registry,
      providers: { ollama: { baseUrl: fake.ollamaUrl }, openai: { apiKey: 'sk-test', baseUrl: fake.openaiUrl } },
      usage,
    });
    handler = new AgentChatHandler({
      deps: api.env.deps,
      // Tracked links as the server wires them (the campaign tools need them).
      links: api.deps.links?.deps,
      router,
      checkpointer: new DbCheckpointSaver(api.env.database.db),
    });
    owner = await api.signUp({ timeZone: 'Europe/Paris' });
    const res = await api.app.inject({
      method: 'PATCH',
      url: '/v1/workspace',
      headers: owner.auth,
      payload: { models: { policy: 'local_only' } },
    });
    expect(res.statusCode).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await fake?.close();
    await api?.close();
  });

  /** One turn through the handler; what it said and did. */
  async function turn(text: string) {
    const tokens: string[] = [];
    const ends: Array<{ name: string; ok: boolean; error?: { code: string } | undefined }> = [];
    const sink: AgentSink = {
      token: (t) => void tokens.push(t),
      toolStart: () => undefined,
      toolEnd: (e) => void ends.push(e),
      confirm: () => Promise.resolve({ confirmed: false, reason: 'rejected' }),
    };
    const before = fake.requests.length;
    await handler.handle(
      {
        principal: {
          userId: owner.userId,
          workspaceId: owner.workspaceId,
          role: 'owner',
          timeZone: 'Europe/Paris',
          limitKey: owner.userId,
        },
        turnId: randomUUID(),
        threadId: randomUUID(),
        text,
      },
      sink,
      new AbortController().signal,
    );
    const chats = fake.requests.slice(before).filter((r) => r.path.endsWith('/chat') || r.path.includes('completions'));
    return { text: tokens.join(''), ends, chats };
  }

  const toolNames = (body: Record<string, unknown>) =>
    ((body.tools as Array<{ function: { name: string } }> | undefined) ?? []).map((t) => t.function.name);
  const afterTool = (req: FakeChatRequest) => (req.body.messages as Array<{ role: string }>).at(-1)?.role === 'tool';

  it('answers the turn with llama3.2:3b, in its 8k window, with the posts tools bound', async () => {
    brain = (req) =>
      afterTool(req) ? { text: 'Nothing is planned yet.' } : { toolCalls: [{ name: 'list_scheduled', args: {} }] };
    const { text, ends, chats } = await turn('Schedule a post about our spring sale for tomorrow at 9');
    expect(text).toBe('Nothing is planned yet.');
    expect(ends).toEqual([expect.objectContaining({ name: 'list_scheduled', ok: true })]);
    expect(chats).toHaveLength(2);
    for (const c of chats) {
      expect(c.path).toBe('/api/chat');
      expect(c.body.model).toBe('llama3.2:3b');
      // The window the router counted on is the one Ollama is asked for.
      expect((c.body.options as { num_ctx?: number }).num_ctx).toBe(8_192);
      const bound = toolNames(c.body);
      expect(bound).toEqual(expect.arrayContaining(['schedule_post', 'draft_post', 'list_scheduled', 'more_tools']));
      expect(bound).not.toContain('create_campaign');
      expect(bound.length).toBeLessThan(ALL.length / 2);
    }
    await usage.flush();
    const [row] = await api.env.database.db
      .select()
      .from(usageLedger)
      .where(eq(usageLedger.workspaceId, owner.workspaceId))
      .orderBy(desc(usageLedger.occurredAt))
      .limit(1);
    expect(row!.model).toBe('llama3.2:3b');
    const fits = /fits (\d+)\/8192 tokens/.exec(row!.routeReason ?? '');
    expect(fits, row!.routeReason ?? '').not.toBeNull();
    expect(Number(fits![1])).toBeLessThan(8_192);
  });

  it('a tool that was not given runs when the model calls it, and is given on the next step', async () => {
    brain = (req) =>
      afterTool(req) ? { text: 'Your niche is not set yet.' } : { toolCalls: [{ name: 'get_trend_niche', args: {} }] };
    const { text, ends, chats } = await turn('Schedule a post for tomorrow at 9');
    expect(toolNames(chats[0]!.body)).not.toContain('get_trend_niche');
    expect(ends).toEqual([expect.objectContaining({ name: 'get_trend_niche', ok: true })]);
    expect(toolNames(chats[1]!.body)).toContain('get_trend_niche');
    expect(text).toBe('Your niche is not set yet.');
  });

  it('more_tools gives a whole group on the next step, still within the 8k window', async () => {
    brain = (req) => {
      if (!afterTool(req)) return { toolCalls: [{ name: 'more_tools', args: { groups: ['campaigns'] } }] };
      if (!req.tools.includes('list_products')) return { text: 'campaign tools missing' };
      return (req.body.messages as Array<{ role: string }>).filter((m) => m.role === 'tool').length === 1
        ? { toolCalls: [{ name: 'list_products', args: {} }] }
        : { text: 'You have no products yet.' };
    };
    const { text, ends, chats } = await turn('Schedule a post for tomorrow at 9');
    expect(toolNames(chats[0]!.body)).not.toContain('create_campaign');
    expect(toolNames(chats[1]!.body)).toEqual(expect.arrayContaining([...CAMPAIGNS]));
    expect(ends.map((e) => [e.name, e.ok])).toEqual([
      ['more_tools', true],
      ['list_products', true],
    ]);
    expect(text).toBe('You have no products yet.');
    expect(chats.every((c) => c.body.model === 'llama3.2:3b')).toBe(true);
  });

  it('AGENT_TOOLS=fit: a model whose window holds every tool gets them all, llama3.2:3b the selection', async () => {
    const messages = [new SystemMessage('You are Herald.'), new HumanMessage('How did last week go?')];
    const { tools, widerTools } = selectTools(messages.slice(1), { mode: 'fit', budgetTokens: 3_000 });
    const ask = async (policy: 'local_only' | 'quality_first') => {
      const before = fake.requests.length;
      const stream = await router.stream(
        { workspaceId: owner.workspaceId, policy: { policy, dailyCostCapUsd: null } },
        { taskKind: 'short_draft', messages, tools, widerTools: widerTools! },
      );
      for await (const chunk of stream) void chunk;
      const [req] = fake.requests.slice(before).filter((r) => r.protocol !== 'ollama-admin');
      return { protocol: req!.protocol, model: String(req!.body.model), bound: toolNames(req!.body) };
    };
    brain = () => ({ text: 'local' });
    const local = await ask('local_only');
    expect(local.model).toBe('llama3.2:3b');
    expect(local.bound).toEqual(selectTools(messages.slice(1)).names);
    const cloud = await ask('quality_first');
    expect(cloud.protocol).toBe('openai');
    expect(cloud.bound).toHaveLength(ALL.length);
  });
});
