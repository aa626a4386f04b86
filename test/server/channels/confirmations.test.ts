/**
 * Confirmation buttons outlive the process that showed them: two Herald instances (each its
 * own agent handler, its own Redis connection, the same database and Redis), the first asks
 * and is closed (a restart), the second takes the press and the turn goes on there. A press
 * from another user or chat, a second press, a press after expiry, and a press by someone who
 * became a viewer meanwhile: each answered so, and nothing is done.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createRedisConnection, schema, setMemberRole } from '../../../core/index.js';
import type { RestChatHandler } from '../../../server/routes/chat.js';
import { SlackChannel } from '../../../server/channels/slack/index.js';
import { TelegramChannel, telegramWebhookRoutes } from '../../../server/channels/telegram/index.js';
import { errorsPlugin } from '../../../server/plugins/errors.js';
import { startAgentEnv, toolResults, type AgentEnv } from '../../agent/agent-env.js';
import type { FakeChatRequest, FakeReply } from '../../fakes/llm/index.js';
import { startSlackFake, type SlackFake, type SlackMessage } from '../../fakes/slack.js';
import { startTelegramFake, type FakeMessage, type TelegramFake } from '../../fakes/telegram.js';
import { REDIS_URL } from '../../helpers/publishing-env.js';
import type { Person } from '../../helpers/api-env.js';

const SIGNING = 'slack-signing-secret-0123456789';
const SECRET = 'webhook-secret_0123456789';
const PREFIX = `test-confirm-${randomUUID()}`;
const SALE = 'Two-instance sale: 20% off until Sunday!';
const silent = createLogger({ level: 'silent' });

let env: AgentEnv;
let second: RestChatHandler;
let slack: SlackFake;
let tg: TelegramFake;
const redises: Redis[] = [];
const closers: Array<() => Promise<unknown>> = [];
let n = 0;

async function until<T>(what: string, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Drafts, then asks to schedule; after the answer says what the tool said. */
function draftThenSchedule(req: FakeChatRequest): FakeReply {
  const results = toolResults(req);
  if (results.length === 0)
    return { toolCalls: [{ name: 'draft_post', args: { text: SALE, accounts: ['mastodon'] } }] };
  if (results.length === 1) {
    const { postId } = JSON.parse(results[0]!) as { postId: string };
    return { toolCalls: [{ name: 'schedule_post', args: { postId, at: 'tomorrow at 9' } }] };
  }
  return { text: `Tool said: ${results[1]!.slice(0, 200)}` };
}

const statuses = async (p: Person) => {
  const t = schema.postTargets;
  return (await env.api.env.database.db.select().from(t).where(eq(t.workspaceId, p.workspaceId))).map((r) => r.status);
};

async function linkCode(p: Person, channel: 'slack' | 'telegram'): Promise<string> {
  const res = await fetch(`${env.api.baseUrl}/v1/channels/link-codes`, {
    method: 'POST',
    headers: { ...p.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ channel }),
  });
  return ((await res.json()) as { code: string }).code;
}

/** One Slack-serving Herald: its own handler and Redis connection, its events URL. */
async function slackInstance(chat: RestChatHandler, confirmTtlMs?: number) {
  const redis = createRedisConnection(REDIS_URL);
  redises.push(redis);
  const channel = new SlackChannel({
    botToken: slack.token,
    signingSecret: SIGNING,
    apiUrl: slack.apiUrl,
    db: env.api.env.database.db,
    redis,
    keyPrefix: PREFIX,
    chat,
    logger: silent,
    confirmTtlMs,
  });
  const hook: FastifyInstance = Fastify();
  await hook.register(errorsPlugin);
  await hook.register(channel.receiver.routes, { prefix: '/v1' });
  const url = `${await hook.listen({ host: '127.0.0.1', port: 0 })}/v1/channels/slack/events`;
  const close = async () => {
    await channel.close();
    await hook.close();
  };
  closers.push(close);
  return { channel, url, close };
}

async function slackDm(url: string, user: string, dm: string, text: string) {
  const event = { type: 'message', channel_type: 'im', channel: dm, user, text, ts: `${++n}.0001` };
  return (await slack.deliverEvent(url, SIGNING, event)).statuses.at(-1);
}

const slackPress = (url: string, user: string, dm: string, message: SlackMessage, value: string) =>
  slack.pressButton(url, SIGNING, { user, channel: dm, message, value });

/** One Telegram-serving Herald; `serve()` points the fake's webhook at it. */
async function telegramInstance(chat: RestChatHandler, confirmTtlMs?: number) {
  const redis = createRedisConnection(REDIS_URL);
  redises.push(redis);
  const channel = new TelegramChannel({
    token: tg.token,
    apiUrl: tg.url,
    db: env.api.env.database.db,
    redis,
    keyPrefix: PREFIX,
    chat,
    logger: silent,
    confirmTtlMs,
  });
  await channel.init();
  const hook: FastifyInstance = Fastify();
  await hook.register(errorsPlugin);
  await hook.register(telegramWebhookRoutes, { prefix: '/v1', channel, secret: SECRET });
  const url = `${await hook.listen({ host: '127.0.0.1', port: 0 })}/v1/channels/telegram/webhook`;
  const close = async () => {
    await channel.close();
    await hook.close();
  };
  closers.push(close);
  return { channel, serve: () => tg.setWebhookDirect(url, SECRET), close };
}

beforeAll(async () => {
  env = await startAgentEnv();
  second = (await env.startAgent()).handler;
  slack = await startSlackFake();
  tg = await startTelegramFake();
}, 60_000);

afterAll(async () => {
  for (const close of closers) await close().catch(() => undefined);
  for (const r of redises) await r.quit();
  await slack?.close();
  await tg?.close();
  await env?.close();
});

describe('slack buttons across instances', () => {
  it('asked on one instance, which then stops; Approve on the other schedules once; foreign and repeated presses change nothing', async () => {
    const a = await slackInstance(env.handler);
    const b = await slackInstance(second);
    const { p } = await env.personWithMastodon();
    const user = `U${++n}`;
    const dm = `D${n}`;
    await slackDm(a.url, user, dm, `link ${await linkCode(p, 'slack')}`);
    await until('linked', () => slack.messages(dm).find((m) => m.text.startsWith('Linked')));
    env.brain = draftThenSchedule;
    await slackDm(a.url, user, dm, 'draft our sale for Mastodon and schedule it tomorrow at 9');
    const ask = await until('the buttons', () => slack.messages(dm).find((m) => m.blocks?.length));
    const [approve, , reject] = (ask.blocks![1] as { elements: Array<{ value: string }> }).elements;
    await a.channel.idle();
    await a.close();

    expect(await slackPress(b.url, 'USOMEONE', dm, ask, approve!.value)).toBe(200);
    await until('the refusal', () => slack.ephemerals.find((e) => e.user === 'USOMEONE'));
    await b.channel.idle();
    expect(slack.ephemerals.find((e) => e.user === 'USOMEONE')!.text).toContain('someone else');
    expect(await statuses(p)).toEqual(['draft']);

    expect(await slackPress(b.url, user, dm, ask, approve!.value)).toBe(200);
    await until('the answer', () => slack.messages(dm).find((m) => m.text.startsWith('Tool said')));
    await b.channel.idle();
    expect(await statuses(p)).toEqual(['scheduled']);
    // The buttons went from the question.
    expect(slack.messages(dm).find((m) => m.ts === ask.ts)).toMatchObject({ text: 'Approved', blocks: [] });

    expect(await slackPress(b.url, user, dm, ask, reject!.value)).toBe(200);
    await until('the stale answer', () => slack.ephemerals.find((e) => e.user === user));
    await b.channel.idle();
    expect(slack.ephemerals.find((e) => e.user === user)!.text).toContain('no longer open');
    expect(await statuses(p)).toEqual(['scheduled']);
    expect(slack.messages(dm).filter((m) => m.text.startsWith('Tool said'))).toHaveLength(1);
    await b.close();
  });

  it('a member who became a viewer meanwhile presses Approve: the service refuses and nothing is scheduled', async () => {
    const a = await slackInstance(env.handler);
    const b = await slackInstance(second);
    const { p } = await env.personWithMastodon();
    const user = `U${++n}`;
    const dm = `D${n}`;
    await slackDm(a.url, user, dm, `link ${await linkCode(p, 'slack')}`);
    await until('linked', () => slack.messages(dm).find((m) => m.text.startsWith('Linked')));
    env.brain = draftThenSchedule;
    await slackDm(a.url, user, dm, 'draft our sale for Mastodon and schedule it tomorrow at 9');
    const ask = await until('the buttons', () => slack.messages(dm).find((m) => m.blocks?.length));
    await a.channel.idle();
    await setMemberRole(env.api.env.database.db, p.workspaceId, p.userId, 'viewer');
    const [approve] = (ask.blocks![1] as { elements: Array<{ value: string }> }).elements;
    expect(await slackPress(b.url, user, dm, ask, approve!.value)).toBe(200);
    const said = await until('the answer', () => slack.messages(dm).find((m) => m.text.startsWith('Tool said')));
    await b.channel.idle();
    expect(said.text).toMatch(/forbidden|viewer|not allowed|role/i);
    expect(await statuses(p)).toEqual(['draft']);
    await a.close();
    await b.close();
  });
});

describe('telegram buttons across instances', () => {
  it('asked on one instance, which then stops; Approve on the other schedules once; another chat and a second press change nothing', async () => {
    const a = await telegramInstance(env.handler);
    const b = await telegramInstance(second);
    a.serve();
    const { p } = await env.personWithMastodon();
    const chatId = 90_000 + ++n;
    await tg.send(chatId, `/start ${await linkCode(p, 'telegram')}`);
    await until('linked', () => tg.messages(chatId).find((m) => m.text.startsWith('Linked')));
    env.brain = draftThenSchedule;
    await tg.send(chatId, 'draft our sale for Mastodon and schedule it tomorrow at 9');
    const ask = await until('the keyboard', () =>
      tg.messages(chatId).find((m) => m.reply_markup?.inline_keyboard.length),
    );
    const [approve, , reject] = ask.reply_markup!.inline_keyboard[0]!;
    await a.channel.idle();
    await a.close();
    b.serve();

    const other = 90_000 + ++n;
    const foreign = await tg.press(other, { ...ask, chat_id: other } as FakeMessage, approve!.callback_data!);
    await until('the foreign answer', () => tg.answers.get(foreign.queryId));
    expect(tg.answers.get(foreign.queryId)!.text).toContain('another chat');
    expect(await statuses(p)).toEqual(['draft']);

    const pressed = await tg.press(chatId, ask, approve!.callback_data!);
    await until('the answer', () => tg.messages(chatId).find((m) => m.text.startsWith('Tool said')));
    await b.channel.idle();
    expect(tg.answers.get(pressed.queryId)!.text).toBe('Approved');
    expect(await statuses(p)).toEqual(['scheduled']);

    const again = await tg.press(chatId, ask, reject!.callback_data!);
    await until('the stale answer', () => tg.answers.get(again.queryId));
    await b.channel.idle();
    expect(tg.answers.get(again.queryId)!.text).toContain('no longer open');
    expect(await statuses(p)).toEqual(['scheduled']);
    await b.close();
  });

  it('a press after the request expired is answered so and changes nothing', async () => {
    const a = await telegramInstance(env.handler, 300);
    a.serve();
    const { p } = await env.personWithMastodon();
    const chatId = 90_000 + ++n;
    await tg.send(chatId, `/start ${await linkCode(p, 'telegram')}`);
    await until('linked', () => tg.messages(chatId).find((m) => m.text.startsWith('Linked')));
    env.brain = draftThenSchedule;
    await tg.send(chatId, 'draft our sale for Mastodon and schedule it tomorrow at 9');
    const ask = await until('the keyboard', () =>
      tg.messages(chatId).find((m) => m.reply_markup?.inline_keyboard.length),
    );
    await a.channel.idle();
    const [approve] = ask.reply_markup!.inline_keyboard[0]!;
    // Redis lets the record go after its 300 ms.
    await new Promise((r) => setTimeout(r, 600));
    const late = await tg.press(chatId, ask, approve!.callback_data!);
    await until('the answer', () => tg.answers.get(late.queryId));
    await a.channel.idle();
    expect(tg.answers.get(late.queryId)!.text).toContain('no longer open');
    expect(await statuses(p)).toEqual(['draft']);
    await a.close();
  });
});
