/**
 * The Telegram channel end to end: grammY pointed at the local Bot API fake
 * (test/fakes/telegram.ts), updates delivered to Herald's real webhook route over HTTP with
 * the secret header, turns answered by the real agent (scripted model server, real database
 * and queue). Linking by a one-time code made over REST, unlinked chats, a reply, a
 * confirmation approved once by button, stale and foreign buttons, a wrong secret, flood
 * control (429 retry_after), workspace isolation and long polling.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, schema, setMemberRole } from '../../../core/index.js';
import { buildApp } from '../../../server/app.js';
import { errorsPlugin } from '../../../server/plugins/errors.js';
import {
  LINK_HELP,
  startTelegram,
  TelegramChannel,
  telegramWebhookRoutes,
} from '../../../server/channels/telegram/index.js';
import { startAgentEnv, toolResults, type AgentEnv } from '../../agent/agent-env.js';
import type { FakeChatRequest, FakeReply } from '../../fakes/llm/index.js';
import { startTelegramFake, type FakeMessage, type TelegramFake } from '../../fakes/telegram.js';
import type { Person } from '../../helpers/api-env.js';

const SECRET = 'webhook-secret_0123456789';
/** Redis keys of this run only: the fake's update ids start again at every run. */
const PREFIX = `test-tg-${randomUUID()}`;
let env: AgentEnv;
let tg: TelegramFake;
let channel: TelegramChannel;
let hook: FastifyInstance;
let chatIds = 5000;

/** A guard against hangs, not a timing assertion. */
async function until<T>(what: string, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function linkCode(p: Person): Promise<string> {
  const res = await fetch(`${env.api.baseUrl}/v1/channels/link-codes`, {
    method: 'POST',
    headers: { ...p.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'telegram' }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { code: string }).code;
}

/** A new private chat linked to `p`. */
async function linkedChat(p: Person, fake = tg, ch = channel): Promise<number> {
  const chatId = ++chatIds;
  const { status } = await fake.send(chatId, `/start ${await linkCode(p)}`);
  expect([200, undefined]).toContain(status);
  await until('the link answer', () => fake.messages(chatId).find((m) => m.text.startsWith('Linked')));
  await ch.idle();
  return chatId;
}

const textsOf = (chatId: number, fake = tg) => fake.messages(chatId).map((m) => m.text);

beforeAll(async () => {
  env = await startAgentEnv();
  tg = await startTelegramFake();
  channel = new TelegramChannel({
    token: tg.token,
    apiUrl: tg.url,
    db: env.api.env.database.db,
    redis: env.api.deps.redis,
    keyPrefix: PREFIX,
    chat: env.handler,
    logger: createLogger({ level: 'silent' }),
  });
  await channel.init();
  hook = Fastify();
  await hook.register(errorsPlugin);
  await hook.register(telegramWebhookRoutes, { prefix: '/v1', channel, secret: SECRET });
  const address = await hook.listen({ host: '127.0.0.1', port: 0 });
  await channel.bot.api.setWebhook(`${address}/v1/channels/telegram/webhook`, { secret_token: SECRET });
}, 60_000);

afterAll(async () => {
  await channel?.close();
  await hook?.close();
  await tg?.close();
  await env?.close();
});

describe('linking', () => {
  it('an unlinked chat is told how to link and no turn runs', async () => {
    const calls = env.modelCalls();
    const chatId = ++chatIds;
    const { status } = await tg.send(chatId, 'schedule something for me');
    expect(status).toBe(200);
    await until('the instructions', () => tg.messages(chatId)[0]);
    await channel.idle();
    expect(textsOf(chatId)).toEqual([LINK_HELP]);
    expect(env.modelCalls()).toBe(calls);
  });

  it('a code made over REST links the chat once; the same code from another chat links nothing', async () => {
    const p = await env.api.signUp();
    const code = await linkCode(p);
    const first = ++chatIds;
    await tg.send(first, `/start ${code}`);
    await until('linked', () => tg.messages(first)[0]);
    expect(tg.messages(first)[0]!.text).toContain('role owner');
    const second = ++chatIds;
    await tg.send(second, `/start ${code}`);
    await until('refused', () => tg.messages(second)[0]);
    expect(tg.messages(second)[0]!.text).toContain('link code is unknown, used or expired');
    const l = schema.channelLinks;
    const rows = await env.api.env.database.db.select().from(l).where(eq(l.userId, p.userId));
    expect(rows.map((r) => [r.externalId, r.workspaceId])).toEqual([[String(first), p.workspaceId]]);
  });
});

describe('link lifecycle', () => {
  it('the agent tool makes a code (over the WebSocket) that links a chat', async () => {
    const p = await env.api.signUp();
    env.brain = (req) => {
      const results = toolResults(req);
      if (results.length === 0)
        return { toolCalls: [{ name: 'create_chat_link_code', args: { channel: 'telegram' } }] };
      return { text: `Your code: ${(JSON.parse(results[0]!) as { code: string }).code}` };
    };
    const c = await env.connect(p);
    const turn = await c.say('give me a Telegram link code', 't-link');
    await c.end(turn);
    c.close();
    const code = /Your code: (\S+)/.exec(c.text(turn))![1]!;
    const chatId = ++chatIds;
    await tg.send(chatId, `/start ${code}`);
    await until('linked', () => tg.messages(chatId)[0]);
    expect(tg.messages(chatId)[0]!.text).toMatch(/^Linked/);
  });

  it('after DELETE /v1/channels/telegram/links, or once the member left, the chat is unlinked', async () => {
    const p = await env.api.signUp();
    const chatId = await linkedChat(p);
    const res = await fetch(`${env.api.baseUrl}/v1/channels/telegram/links`, { method: 'DELETE', headers: p.auth });
    expect(await res.json()).toEqual({ removed: 1 });
    const calls = env.modelCalls();
    await tg.send(chatId, 'still there?');
    await until('the instructions', () => textsOf(chatId).includes(LINK_HELP));

    const q = await env.api.signUp();
    const chat2 = await linkedChat(q);
    const m = schema.memberships;
    await env.api.env.database.db.delete(m).where(eq(m.userId, q.userId));
    await tg.send(chat2, 'and me?');
    await until('the instructions', () => textsOf(chat2).includes(LINK_HELP));
    await channel.idle();
    expect(env.modelCalls()).toBe(calls);
  });
});

describe('turns', () => {
  it("a linked chat's message is answered by the agent as that member, in their workspace", async () => {
    const a = await env.api.signUp();
    const b = await env.api.signUp();
    const chatA = await linkedChat(a);
    const chatB = await linkedChat(b);
    env.brain = () => ({ text: 'Hello from Herald, here is your answer.' });
    const before = env.handler.turns.size;
    await tg.send(chatA, 'hi there, what can you do?');
    await tg.send(chatB, 'and for me?');
    await until('both answers', () =>
      [chatA, chatB].every((c) => textsOf(c).includes('Hello from Herald, here is your answer.')),
    );
    await channel.idle();
    const turns = [...env.handler.turns.values()].slice(before);
    const byThread = new Map(turns.map((t) => [t.threadId, t.principal]));
    expect(byThread.get(`telegram:${chatA}`)).toMatchObject({ workspaceId: a.workspaceId, userId: a.userId });
    expect(byThread.get(`telegram:${chatB}`)).toMatchObject({ workspaceId: b.workspaceId, userId: b.userId });
  });

  it('a 429 with retry_after is waited out and the answer still arrives', async () => {
    const p = await env.api.signUp();
    const chatId = await linkedChat(p);
    env.brain = () => ({ text: 'Answer after the flood.' });
    // Twice: without waiting out retry_after, both the first send and the final write would fail.
    tg.floodNext('sendMessage', 1, 2);
    const floods = tg.calls.length;
    await tg.send(chatId, 'hello?');
    await until('the answer', () => textsOf(chatId).includes('Answer after the flood.'));
    expect(tg.calls.slice(floods).filter((c) => c.method === 'sendMessage').length).toBeGreaterThanOrEqual(3);
  });

  it('a wrong or missing secret token is refused 401 and runs nothing', async () => {
    const p = await env.api.signUp();
    const chatId = await linkedChat(p);
    const calls = env.modelCalls();
    expect((await tg.send(chatId, 'do something', { secret: 'not-the-secret' })).status).toBe(401);
    const update = {
      update_id: 999_999,
      message: { message_id: 1, date: 1, chat: { id: chatId, type: 'private' }, text: 'x' },
    };
    const res = await fetch(
      `${hook.server.address() ? `http://127.0.0.1:${(hook.server.address() as { port: number }).port}` : ''}/v1/channels/telegram/webhook`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(update),
      },
    );
    expect(res.status).toBe(401);
    await channel.idle();
    expect(textsOf(chatId).filter((t) => !t.startsWith('Linked'))).toEqual([]);
    expect(env.modelCalls()).toBe(calls);
  });
});

const SALE = 'Telegram sale: 20% off everything until Sunday!';
function draftThenSchedule(req: FakeChatRequest): FakeReply {
  const results = toolResults(req);
  if (results.length === 0)
    return { toolCalls: [{ name: 'draft_post', args: { text: SALE, accounts: ['mastodon'] } }] };
  if (results.length === 1) {
    const { postId } = JSON.parse(results[0]!) as { postId: string };
    return { toolCalls: [{ name: 'schedule_post', args: { postId, at: 'tomorrow at 9' } }] };
  }
  return { text: results[1]!.startsWith('Not done') ? 'Fine, it stays a draft.' : 'Scheduled for tomorrow at 09:00.' };
}

describe('confirmation buttons', () => {
  it('Approve schedules exactly once; a second press, a stale one and another chat change nothing', async () => {
    const { p } = await env.personWithMastodon();
    const other = await env.api.signUp();
    const chatId = await linkedChat(p);
    const otherChat = await linkedChat(other);
    env.brain = draftThenSchedule;
    await tg.send(chatId, 'draft a post about our sale for Mastodon and schedule it tomorrow at 9');
    const ask = await until('the confirmation', () =>
      tg.messages(chatId).find((m) => m.reply_markup?.inline_keyboard.length),
    );
    expect(ask.text).toContain(SALE);
    const [approve, , reject] = ask.reply_markup!.inline_keyboard[0]!;
    expect(approve!.text).toBe('Approve');
    expect(Buffer.byteLength(approve!.callback_data!)).toBeLessThanOrEqual(64);
    const t = schema.postTargets;
    const statuses = async () =>
      (await env.api.env.database.db.select().from(t).where(eq(t.workspaceId, p.workspaceId))).map((r) => r.status);
    expect(await statuses()).toEqual(['draft']);

    // Someone else's chat pressing this request's button: refused, nothing done.
    const foreign = await tg.press(otherChat, { ...ask, chat_id: otherChat } as FakeMessage, approve!.callback_data!);
    expect(foreign.status).toBe(200);
    await until('the foreign answer', () => tg.answers.get(foreign.queryId));
    expect(tg.answers.get(foreign.queryId)!.text).toContain('another chat');
    expect(await statuses()).toEqual(['draft']);

    const first = await tg.press(chatId, ask, approve!.callback_data!);
    const second = await tg.press(chatId, ask, reject!.callback_data!);
    await until('both answers', () => tg.answers.get(first.queryId) && tg.answers.get(second.queryId));
    expect(tg.answers.get(first.queryId)!.text).toBe('Approved');
    expect(tg.answers.get(second.queryId)!.text).toContain('no longer open');
    await until('the final answer', () => textsOf(chatId).includes('Scheduled for tomorrow at 09:00.'));
    await channel.idle();
    expect(await statuses()).toEqual(['scheduled']);
    // The answered request's keyboard is gone.
    expect(tg.messages(chatId).find((m) => m.message_id === ask.message_id)!.reply_markup?.inline_keyboard).toEqual([]);
    // A made-up request id is stale too.
    const stale = await tg.press(chatId, ask, 'cf:AAAAAAAAAAAAAAAA:y');
    await until('the stale answer', () => tg.answers.get(stale.queryId));
    expect(tg.answers.get(stale.queryId)!.text).toContain('no longer open');
    expect(await statuses()).toEqual(['scheduled']);
  });
});

describe('the Edit button', () => {
  const EDITED = 'Telegram sale, edited: 25% off until Monday!';
  const contents = async (workspaceId: string) => {
    const t = schema.postTargets;
    return (await env.api.env.database.db.select().from(t).where(eq(t.workspaceId, workspaceId))).map((r) => ({
      status: r.status,
      content: r.content,
    }));
  };

  it('Edit asks for the new text (ForceReply); the next message replaces it and the action runs with it, once', async () => {
    const { p } = await env.personWithMastodon();
    const other = await env.api.signUp();
    const chatId = await linkedChat(p);
    const otherChat = await linkedChat(other);
    env.brain = draftThenSchedule;
    await tg.send(chatId, 'draft a post about our sale for Mastodon and schedule it tomorrow at 9');
    const ask = await until('the confirmation', () =>
      tg.messages(chatId).find((m) => m.reply_markup?.inline_keyboard.length),
    );
    await channel.idle();
    const [approve, edit, reject] = ask.reply_markup!.inline_keyboard[0]!;
    expect([approve!.text, edit!.text, reject!.text]).toEqual(['Approve', 'Edit', 'Reject']);
    expect(Buffer.byteLength(edit!.callback_data!)).toBeLessThanOrEqual(64);

    // Another chat pressing Edit: refused; that chat's next message is an ordinary one.
    const foreign = await tg.press(otherChat, { ...ask, chat_id: otherChat } as FakeMessage, edit!.callback_data!);
    await until('the foreign answer', () => tg.answers.get(foreign.queryId));
    expect(tg.answers.get(foreign.queryId)!.text).toContain('another chat');

    const pressed = await tg.press(chatId, ask, edit!.callback_data!);
    await until('the edit answer', () => tg.answers.get(pressed.queryId));
    const prompt = await until('the prompt', () => tg.messages(chatId).find((m) => m.forceReply));
    expect(prompt.text).toContain('Send the new text');
    // Nothing is answered yet: the buttons stay, the post is untouched.
    expect(
      tg.messages(chatId).find((m) => m.message_id === ask.message_id)!.reply_markup?.inline_keyboard,
    ).toHaveLength(1);
    expect(await contents(p.workspaceId)).toEqual([{ status: 'draft', content: SALE }]);

    const turns = env.handler.turns.size;
    await tg.send(chatId, EDITED);
    await until('the final answer', () => textsOf(chatId).includes('Scheduled for tomorrow at 09:00.'));
    await channel.idle();
    // The text went to the request as its edit, not to the model as a new message.
    expect([...env.handler.turns.values()].slice(turns).map((t) => t.text)).toEqual(['yes']);
    expect(await contents(p.workspaceId)).toEqual([{ status: 'scheduled', content: EDITED }]);
    expect(tg.messages(chatId).find((m) => m.message_id === ask.message_id)!.reply_markup?.inline_keyboard).toEqual([]);

    // The request is answered: its buttons, Edit included, are stale now.
    const late = await tg.press(chatId, ask, edit!.callback_data!);
    await until('the stale answer', () => tg.answers.get(late.queryId));
    expect(tg.answers.get(late.queryId)!.text).toContain('no longer open');
    expect(await contents(p.workspaceId)).toEqual([{ status: 'scheduled', content: EDITED }]);
  });

  it('"cancel" after Edit keeps the request open; a viewer\'s edited approval is refused by the service', async () => {
    const { p } = await env.personWithMastodon();
    const chatId = await linkedChat(p);
    env.brain = draftThenSchedule;
    await tg.send(chatId, 'draft a post about our sale for Mastodon and schedule it tomorrow at 9');
    const ask = await until('the confirmation', () =>
      tg.messages(chatId).find((m) => m.reply_markup?.inline_keyboard.length),
    );
    await channel.idle();
    const [, edit] = ask.reply_markup!.inline_keyboard[0]!;
    await tg.press(chatId, ask, edit!.callback_data!);
    await until('the prompt', () => tg.messages(chatId).find((m) => m.forceReply));
    await tg.send(chatId, 'cancel');
    await until('kept', () => textsOf(chatId).find((t) => t.startsWith('Not edited')));
    await channel.idle();
    expect(await contents(p.workspaceId)).toEqual([{ status: 'draft', content: SALE }]);

    // Edit again, then the member becomes a viewer before sending the text: nothing is scheduled.
    await tg.press(chatId, ask, edit!.callback_data!);
    await until('the second prompt', () => tg.messages(chatId).filter((m) => m.forceReply).length === 2);
    await setMemberRole(env.api.env.database.db, p.workspaceId, p.userId, 'viewer');
    env.brain = (req) => {
      const results = toolResults(req);
      return results.length >= 2 ? { text: `Tool said: ${results[1]}` } : draftThenSchedule(req);
    };
    await tg.send(chatId, EDITED);
    const said = await until('the answer', () => textsOf(chatId).find((t) => t.startsWith('Tool said')));
    await channel.idle();
    expect(said).toMatch(/forbidden|viewer|not allowed|role/i);
    expect(await contents(p.workspaceId)).toEqual([{ status: 'draft', content: SALE }]);
  });
});

describe('long polling', () => {
  it("getUpdates with offsets carries a linked chat's message to the agent and back", async () => {
    const fake = await startTelegramFake();
    const poller = new TelegramChannel({
      token: fake.token,
      apiUrl: fake.url,
      db: env.api.env.database.db,
      redis: env.api.deps.redis,
      keyPrefix: PREFIX,
      chat: env.handler,
      logger: createLogger({ level: 'silent' }),
    });
    try {
      await poller.startPolling();
      const p = await env.api.signUp();
      const chatId = await linkedChat(p, fake, poller);
      env.brain = () => ({ text: 'Polled answer.' });
      await fake.send(chatId, 'are you there?');
      await until('the answer', () => textsOf(chatId, fake).includes('Polled answer.'));
      // Every update was handled once: offsets confirmed them.
      expect(textsOf(chatId, fake).filter((t) => t === 'Polled answer.')).toHaveLength(1);
    } finally {
      await poller.close();
      await fake.close();
    }
  });
});

describe('start from config', () => {
  it('with a webhook secret and PUBLIC_URL, registers the webhook with its secret; none is polled', async () => {
    const fake = await startTelegramFake();
    const ch = await startTelegram({
      token: fake.token,
      apiUrl: fake.url,
      webhookSecret: SECRET,
      publicUrl: 'https://herald.example.com',
      db: env.api.env.database.db,
      redis: env.api.deps.redis,
      keyPrefix: PREFIX,
      chat: env.handler,
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const set = fake.calls.find((c) => c.method === 'setWebhook');
      expect(set?.body).toMatchObject({
        url: 'https://herald.example.com/v1/channels/telegram/webhook',
        secret_token: SECRET,
      });
      expect(fake.calls.some((c) => c.method === 'getUpdates')).toBe(false);
    } finally {
      await ch.close();
      await fake.close();
    }
  });
});

describe('the API wiring', () => {
  it('registerApi serves the webhook only with a secret, and refuses a request without it', async () => {
    const logger = createLogger({ level: 'silent' });
    const build = (webhookSecret: string | undefined) =>
      buildApp({
        logger,
        checks: [],
        isDraining: () => false,
        api: { ...env.api.deps, telegram: { channel, webhookSecret } },
      });
    const update = {
      update_id: 888_888,
      message: { message_id: 1, date: 1, chat: { id: 1, type: 'private' }, text: 'x' },
    };
    const withSecret = await build(SECRET);
    const without = await build(undefined);
    try {
      const post = (app: FastifyInstance, headers: Record<string, string> = {}) =>
        app.inject({ method: 'POST', url: '/v1/channels/telegram/webhook', headers, payload: update });
      expect((await post(withSecret)).statusCode).toBe(401);
      expect((await post(withSecret)).json()).toMatchObject({ error: { code: 'unauthorized' } });
      expect((await post(withSecret, { 'x-telegram-bot-api-secret-token': SECRET })).statusCode).toBe(200);
      expect((await post(without, { 'x-telegram-bot-api-secret-token': SECRET })).statusCode).toBe(404);
    } finally {
      await withSecret.close();
      await without.close();
    }
  });
});
