/**
 * The Slack channel end to end: Bolt with Herald's Fastify receiver, events and button presses
 * signed as Slack signs them and sent over HTTP, the Web API answered by the local fake
 * (test/fakes/slack.ts), turns answered by the real agent. Forged and stale signatures,
 * retries, unlinked users, linking, a reply, and a confirmation approved once.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, schema } from '../../../core/index.js';
import { SLACK_LINK_HELP, SLACK_TEXT_MAX, SlackChannel } from '../../../server/channels/slack/index.js';
import { buildApp } from '../../../server/app.js';
import { errorsPlugin } from '../../../server/plugins/errors.js';
import { startAgentEnv, toolResults, type AgentEnv } from '../../agent/agent-env.js';
import type { FakeChatRequest, FakeReply } from '../../fakes/llm/index.js';
import { startSlackFake, type SlackFake, type SlackMessage } from '../../fakes/slack.js';
import type { Person } from '../../helpers/api-env.js';

const SIGNING = 'slack-signing-secret-0123456789';
/** Redis keys of this run only: event ids start again at every run. */
const PREFIX = `test-slack-${randomUUID()}`;
let env: AgentEnv;
let slack: SlackFake;
let channel: SlackChannel;
let hook: FastifyInstance;
let url: string;
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

async function post(body: string, headers: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', headers, body });
  await res.arrayBuffer();
  return res.status;
}

/** A direct message from `user` in DM channel `dm`: as Slack delivers it, or hand-signed (`ts`, `extra` headers). */
async function dm(
  user: string,
  dmChannel: string,
  text: string,
  opts: { ts?: number; extra?: Record<string, string>; eventId?: string } = {},
) {
  const event = { type: 'message', channel_type: 'im', channel: dmChannel, user, text, ts: `${++n}.0001` };
  if (opts.ts === undefined && opts.extra === undefined)
    return (await slack.deliverEvent(url, SIGNING, event, opts.eventId)).statuses.at(-1);
  const body = JSON.stringify(slack.envelope(event, opts.eventId));
  return post(body, { 'content-type': 'application/json', ...slack.sign(body, SIGNING, opts.ts), ...opts.extra });
}

/** `user` clicks the button with `value` under `message`, as Slack posts the click. */
const press = (user: string, dmChannel: string, message: SlackMessage, value: string) =>
  slack.pressButton(url, SIGNING, { user, channel: dmChannel, message, value });

async function linkedUser(p: Person): Promise<{ user: string; dm: string }> {
  const res = await fetch(`${env.api.baseUrl}/v1/channels/link-codes`, {
    method: 'POST',
    headers: { ...p.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'slack' }),
  });
  const { code } = (await res.json()) as { code: string };
  const user = `U${++n}`;
  const dmChannel = `D${n}`;
  expect(await dm(user, dmChannel, `link ${code}`)).toBe(200);
  await until('linked', () => slack.messages(dmChannel).find((m) => m.text.startsWith('Linked')));
  return { user, dm: dmChannel };
}

beforeAll(async () => {
  env = await startAgentEnv();
  slack = await startSlackFake({ retryDelaysMs: [0, 10, 10] });
  channel = new SlackChannel({
    botToken: slack.token,
    signingSecret: SIGNING,
    apiUrl: slack.apiUrl,
    db: env.api.env.database.db,
    redis: env.api.deps.redis,
    keyPrefix: PREFIX,
    chat: env.handler,
    logger: createLogger({ level: 'silent' }),
  });
  hook = Fastify();
  await hook.register(errorsPlugin);
  await hook.register(channel.receiver.routes, { prefix: '/v1' });
  url = `${await hook.listen({ host: '127.0.0.1', port: 0 })}/v1/channels/slack/events`;
}, 60_000);

afterAll(async () => {
  await channel?.close();
  await hook?.close();
  await slack?.close();
  await env?.close();
});

describe('slack', () => {
  it('a forged signature and a timestamp older than 5 minutes are refused 401 and run nothing', async () => {
    const p = await env.api.signUp();
    const { user, dm: d } = await linkedUser(p);
    const calls = env.modelCalls();
    const body = JSON.stringify({
      type: 'event_callback',
      team_id: slack.team,
      event_id: 'EvForged',
      event: { type: 'message', channel_type: 'im', channel: d, user, text: 'hi' },
    });
    expect(await post(body, { 'content-type': 'application/json', ...slack.sign(body, 'not-the-secret') })).toBe(401);
    expect(await dm(user, d, 'hi', { ts: Math.floor(Date.now() / 1000) - 6 * 60 })).toBe(401);
    await channel.idle();
    expect(slack.messages(d).filter((m) => !m.text.startsWith('Linked'))).toEqual([]);
    expect(env.modelCalls()).toBe(calls);
  });

  it('a retry of an event already taken runs nothing; a retry whose first delivery never arrived runs once', async () => {
    const p = await env.api.signUp();
    const { user, dm: d } = await linkedUser(p);
    env.brain = () => ({ text: 'Answered once.' });
    const retry = (k: number) => ({ 'x-slack-retry-num': String(k), 'x-slack-retry-reason': 'http_timeout' });
    const eventId = `EvOnce${++n}`;
    expect(await dm(user, d, 'hi', { eventId })).toBe(200);
    expect(await dm(user, d, 'hi', { eventId, extra: retry(1) })).toBe(200);
    expect(await dm(user, d, 'hi', { eventId, extra: retry(2) })).toBe(200);
    await until('the answer', () => slack.messages(d).find((m) => m.text === 'Answered once.'));
    await channel.idle();
    expect(slack.messages(d).filter((m) => m.text === 'Answered once.')).toHaveLength(1);

    env.brain = () => ({ text: 'Answered the retry.' });
    const lost = `EvLost${++n}`;
    expect(await dm(user, d, 'are you there?', { eventId: lost, extra: retry(1) })).toBe(200);
    expect(await dm(user, d, 'are you there?', { eventId: lost, extra: retry(2) })).toBe(200);
    await until('the answer', () => slack.messages(d).find((m) => m.text === 'Answered the retry.'));
    await channel.idle();
    expect(slack.messages(d).filter((m) => m.text === 'Answered the retry.')).toHaveLength(1);
  });

  it('Slack redelivers after a 3-second timeout (X-Slack-Retry-Reason http_timeout): the event runs once', async () => {
    const p = await env.api.signUp();
    const { user, dm: d } = await linkedUser(p);
    env.brain = () => ({ text: 'Answered despite the slow network.' });
    // Between Slack and Herald, a network that holds Herald's first answer past Slack's 3 seconds.
    let held = false;
    const slow = createServer((req, res) => {
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(([k]) => k.startsWith('x-slack') || k === 'content-type'),
        ) as Record<string, string>;
        const answer = await fetch(url, { method: 'POST', headers, body: Buffer.concat(chunks) });
        const text = await answer.text();
        if (!held) {
          held = true;
          await new Promise((r) => setTimeout(r, 3_300));
        }
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
        res.end(text);
      })();
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const via = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/`;
      const delivery = await slack.deliverEvent(via, SIGNING, {
        type: 'message',
        channel_type: 'im',
        channel: d,
        user,
        text: 'hello over a slow link',
        ts: `${++n}.0001`,
      });
      expect(delivery.statuses).toEqual([0, 200]);
      expect(delivery.reasons).toEqual(['http_timeout']);
      await until('the answer', () => slack.messages(d).find((m) => m.text === 'Answered despite the slow network.'));
      await channel.idle();
      expect(slack.messages(d).filter((m) => m.text === 'Answered despite the slow network.')).toHaveLength(1);
    } finally {
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
    }
  });

  it('an unlinked user gets the instructions only; a linked one gets the agent answer', async () => {
    const calls = env.modelCalls();
    expect(await dm('UNOBODY', 'DNOBODY', 'hello')).toBe(200);
    await until('instructions', () => slack.messages('DNOBODY')[0]);
    expect(slack.messages('DNOBODY').map((m) => m.text)).toEqual([SLACK_LINK_HELP]);
    expect(env.modelCalls()).toBe(calls);

    const p = await env.api.signUp();
    const { user, dm: d } = await linkedUser(p);
    env.brain = () => ({ text: 'Hello from Herald in Slack.' });
    const before = env.handler.turns.size;
    expect(await dm(user, d, 'hi')).toBe(200);
    await until('the answer', () => slack.messages(d).find((m) => m.text === 'Hello from Herald in Slack.'));
    const turn = [...env.handler.turns.values()].slice(before)[0]!;
    expect(turn.principal).toMatchObject({ workspaceId: p.workspaceId, userId: p.userId });
  });

  it("the answer's text is escaped for Slack: a relayed <!channel> or a disguised link shows as text", async () => {
    const p = await env.api.signUp();
    const { user, dm: d } = await linkedUser(p);
    env.brain = () => ({ text: 'Top trend: <!channel> see <https://evil.example|bank.com> & more' });
    expect(await dm(user, d, 'what is trending?')).toBe(200);
    await until('the answer', () => slack.messages(d).find((m) => m.text.startsWith('Top trend')));
    await channel.idle();
    expect(slack.messages(d).map((m) => m.text)).toContain(
      'Top trend: &lt;!channel&gt; see &lt;https://evil.example|bank.com&gt; &amp; more',
    );
  });

  it('a mention in a channel starts a turn without the mention in its text; the answer goes to that channel', async () => {
    const p = await env.api.signUp();
    const { user } = await linkedUser(p);
    env.brain = () => ({ text: 'Answered in the channel.' });
    const before = env.handler.turns.size;
    const delivery = await slack.deliverEvent(url, SIGNING, {
      type: 'app_mention',
      channel: 'CGENERAL',
      user,
      text: '<@UBOT> how are my posts doing?',
      ts: '1.1',
    });
    expect(delivery.statuses).toEqual([200]);
    await until('the answer', () => slack.messages('CGENERAL').find((m) => m.text === 'Answered in the channel.'));
    const turn = [...env.handler.turns.values()].slice(before)[0]!;
    expect(turn.text).toBe('how are my posts doing?');
    expect(turn.principal.workspaceId).toBe(p.workspaceId);
  });

  it('auth.test is asked once, not before every event', async () => {
    const p = await env.api.signUp();
    const { user, dm: d } = await linkedUser(p);
    env.brain = () => ({ text: 'One of several answers.' });
    for (let i = 0; i < 3; i++) await dm(user, d, `message ${i}`);
    await until(
      'the answers',
      () => slack.messages(d).filter((m) => m.text === 'One of several answers.').length === 3,
    );
    await channel.idle();
    // Earlier tests sent many events through this app already.
    expect(slack.callsOf('auth.test')).toBe(1);
  });

  it('a 429 with Retry-After from the Web API is waited out and the answer still arrives', async () => {
    const p = await env.api.signUp();
    const { user, dm: d } = await linkedUser(p);
    env.brain = () => ({ text: 'Answer after the rate limit.' });
    // Twice: without waiting out Retry-After, both the first post and the final write would fail.
    slack.rateLimitNext('chat.postMessage', 1, 2);
    expect(await dm(user, d, 'hello?')).toBe(200);
    await until('the answer', () => slack.messages(d).find((m) => m.text === 'Answer after the rate limit.'));
    expect(slack.limited).toBe(2);
  });

  it('an answer past 40,000 characters goes on in a second message, none refused as msg_too_long', async () => {
    const p = await env.api.signUp();
    const { user, dm: d } = await linkedUser(p);
    const long = Array.from({ length: 4_500 }, (_, i) => `word${String(i).padStart(5, '0')}`).join(' ');
    env.brain = () => ({ text: long });
    await dm(user, d, 'tell me everything');
    await until('both parts', () => slack.messages(d).filter((m) => m.text.startsWith('word')).length === 2);
    await channel.idle();
    const parts = slack.messages(d).filter((m) => m.text.startsWith('word') || m.text.startsWith(' word'));
    expect(parts.every((m) => m.text.length <= SLACK_TEXT_MAX)).toBe(true);
    expect(parts.map((m) => m.text).join('')).toBe(long);
  });

  it('Approve schedules exactly once; a second press and another user change nothing', async () => {
    const SALE = 'Slack sale: 20% off everything until Sunday!';
    const brain = (req: FakeChatRequest): FakeReply => {
      const results = toolResults(req);
      if (results.length === 0)
        return { toolCalls: [{ name: 'draft_post', args: { text: SALE, accounts: ['mastodon'] } }] };
      if (results.length === 1) {
        const { postId } = JSON.parse(results[0]!) as { postId: string };
        return { toolCalls: [{ name: 'schedule_post', args: { postId, at: 'tomorrow at 9' } }] };
      }
      return {
        text: results[1]!.startsWith('Not done') ? 'Fine, it stays a draft.' : 'Scheduled for tomorrow at 09:00.',
      };
    };
    const { p } = await env.personWithMastodon();
    const { user, dm: d } = await linkedUser(p);
    env.brain = brain;
    await dm(user, d, 'draft a post about our sale for Mastodon and schedule it tomorrow at 9');
    const ask = await until('the buttons', () => slack.messages(d).find((m) => m.blocks?.length));
    expect(ask.text).toContain(SALE);
    const buttons = (ask.blocks![1] as { elements: Array<{ value: string }> }).elements;
    const t = schema.postTargets;
    const statuses = async () =>
      (await env.api.env.database.db.select().from(t).where(eq(t.workspaceId, p.workspaceId))).map((r) => r.status);

    expect(await press('USOMEONE', d, ask, buttons[0]!.value)).toBe(200);
    await until('the refusal', () => slack.ephemerals.find((e) => e.user === 'USOMEONE'));
    expect(await statuses()).toEqual(['draft']);

    expect(await press(user, d, ask, buttons[0]!.value)).toBe(200);
    await until('the final answer', () => slack.messages(d).find((m) => m.text === 'Scheduled for tomorrow at 09:00.'));
    expect(await press(user, d, ask, buttons[2]!.value)).toBe(200);
    await until('the stale answer', () => slack.ephemerals.find((e) => e.user === user));
    expect(slack.ephemerals.find((e) => e.user === user)!.text).toContain('no longer open');
    await channel.idle();
    expect(await statuses()).toEqual(['scheduled']);
  });
});

describe('the Edit button', () => {
  const SALE = 'Slack sale: 20% off everything until Sunday!';
  const EDITED = 'Slack sale, edited: 25% off until Monday!';
  const brain = (req: FakeChatRequest): FakeReply => {
    const results = toolResults(req);
    if (results.length === 0)
      return { toolCalls: [{ name: 'draft_post', args: { text: SALE, accounts: ['mastodon'] } }] };
    if (results.length === 1) {
      const { postId } = JSON.parse(results[0]!) as { postId: string };
      return { toolCalls: [{ name: 'schedule_post', args: { postId, at: 'tomorrow at 9' } }] };
    }
    return { text: `Tool said: ${results[1]}` };
  };
  const contents = async (workspaceId: string) => {
    const t = schema.postTargets;
    return (await env.api.env.database.db.select().from(t).where(eq(t.workspaceId, workspaceId))).map((r) => ({
      status: r.status,
      content: r.content,
    }));
  };

  it("Edit asks in the thread for the new text; the next message replaces it and the action runs with it, once; another user's Edit is refused", async () => {
    const { p } = await env.personWithMastodon();
    const { user, dm: d } = await linkedUser(p);
    env.brain = brain;
    await dm(user, d, 'draft a post about our sale for Mastodon and schedule it tomorrow at 9');
    const ask = await until('the buttons', () => slack.messages(d).find((m) => m.blocks?.length));
    await channel.idle();
    const buttons = (
      ask.blocks![1] as { elements: Array<{ action_id: string; value: string; text: { text: string } }> }
    ).elements;
    expect(buttons.map((b) => b.text.text)).toEqual(['Approve', 'Edit', 'Reject']);
    const edit = buttons.find((b) => b.action_id === 'herald_edit')!;

    // Someone else's Edit: refused privately; their next message stays theirs.
    expect(await press('USOMEONE', d, ask, edit.value)).toBe(200);
    await until('the refusal', () => slack.ephemerals.find((e) => e.user === 'USOMEONE'));
    expect(slack.ephemerals.find((e) => e.user === 'USOMEONE')!.text).toContain('someone else');

    expect(await press(user, d, ask, edit.value)).toBe(200);
    const prompt = await until('the prompt', () => slack.messages(d).find((m) => m.text.includes('Send the new text')));
    expect(prompt.thread_ts).toBe(ask.ts);
    // Nothing answered yet: the buttons stay, the post is untouched.
    expect(slack.messages(d).find((m) => m.ts === ask.ts)!.blocks).toHaveLength(2);
    expect(await contents(p.workspaceId)).toEqual([{ status: 'draft', content: SALE }]);

    const turns = env.handler.turns.size;
    expect(await dm(user, d, EDITED)).toBe(200);
    const said = await until('the answer', () => slack.messages(d).find((m) => m.text.startsWith('Tool said')));
    await channel.idle();
    expect(said.text).not.toMatch(/forbidden|error/i);
    // The text went to the request as its edit (the turn went on with "yes"), not to the model as a message.
    expect([...env.handler.turns.values()].slice(turns).map((t) => t.text)).toEqual(['yes']);
    expect(await contents(p.workspaceId)).toEqual([{ status: 'scheduled', content: EDITED }]);
    expect(slack.messages(d).find((m) => m.ts === ask.ts)).toMatchObject({
      text: 'Approved with your edit',
      blocks: [],
    });

    // Answered: Edit is stale now, and the next message is an ordinary one.
    expect(await press(user, d, ask, edit.value)).toBe(200);
    await until('the stale answer', () => slack.ephemerals.find((e) => e.user === user));
    expect(slack.ephemerals.find((e) => e.user === user)!.text).toContain('no longer open');
    env.brain = () => ({ text: 'An ordinary answer.' });
    await dm(user, d, 'thanks');
    await until('the ordinary answer', () => slack.messages(d).find((m) => m.text === 'An ordinary answer.'));
    await channel.idle();
    expect(await contents(p.workspaceId)).toEqual([{ status: 'scheduled', content: EDITED }]);
  });

  it('after Edit, a message elsewhere (a mention in a public channel) is an ordinary turn and the edit stays owed in the DM', async () => {
    const { p } = await env.personWithMastodon();
    const { user, dm: d } = await linkedUser(p);
    env.brain = brain;
    await dm(user, d, 'draft a post about our sale for Mastodon and schedule it tomorrow at 9');
    const ask = await until('the buttons', () => slack.messages(d).find((m) => m.blocks?.length));
    await channel.idle();
    const [, edit] = (ask.blocks![1] as { elements: Array<{ value: string }> }).elements;
    await press(user, d, ask, edit!.value);
    await until('the prompt', () => slack.messages(d).find((m) => m.text.includes('Send the new text')));

    // A mention in a public channel: a turn of its own there, not the edit.
    env.brain = () => ({ text: 'Answered in the channel.' });
    const turns = env.handler.turns.size;
    const pub = `C${++n}`;
    const mention = { type: 'app_mention', channel: pub, user, text: `<@UHERALD> ${EDITED}`, ts: `${++n}.0001` };
    expect((await slack.deliverEvent(url, SIGNING, mention)).statuses.at(-1)).toBe(200);
    await until('the channel answer', () => slack.messages(pub).find((m) => m.text === 'Answered in the channel.'));
    await channel.idle();
    expect([...env.handler.turns.values()].slice(turns).map((t) => t.text)).toEqual([EDITED]);
    expect(await contents(p.workspaceId)).toEqual([{ status: 'draft', content: SALE }]);
    expect(slack.messages(d).find((m) => m.ts === ask.ts)!.blocks).toHaveLength(2);

    // Still owed in the DM: the reply there is the edit.
    env.brain = brain;
    await dm(user, d, EDITED);
    await until('the answer', () => slack.messages(d).find((m) => m.text.startsWith('Tool said')));
    await channel.idle();
    expect(await contents(p.workspaceId)).toEqual([{ status: 'scheduled', content: EDITED }]);
  });

  it('after Edit, Reject answers the request and the next message is not taken as an edit', async () => {
    const { p } = await env.personWithMastodon();
    const { user, dm: d } = await linkedUser(p);
    env.brain = brain;
    await dm(user, d, 'draft a post about our sale for Mastodon and schedule it tomorrow at 9');
    const ask = await until('the buttons', () => slack.messages(d).find((m) => m.blocks?.length));
    await channel.idle();
    const [, edit, reject] = (ask.blocks![1] as { elements: Array<{ value: string }> }).elements;
    await press(user, d, ask, edit!.value);
    await until('the prompt', () => slack.messages(d).find((m) => m.text.includes('Send the new text')));
    await press(user, d, ask, reject!.value);
    await until('rejected', () => slack.messages(d).find((m) => m.text.startsWith('Tool said')));
    await channel.idle();
    env.brain = () => ({ text: 'Just chatting.' });
    await dm(user, d, EDITED);
    await until('the chat answer', () => slack.messages(d).find((m) => m.text === 'Just chatting.'));
    await channel.idle();
    expect(await contents(p.workspaceId)).toEqual([{ status: 'draft', content: SALE }]);
  });
});

describe('the API wiring', () => {
  it('registerApi serves the events route: unsigned is 401, a signed url_verification gets its challenge', async () => {
    const app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      checks: [],
      isDraining: () => false,
      api: { ...env.api.deps, slack: channel },
    });
    try {
      const body = JSON.stringify({ type: 'url_verification', challenge: 'ch-123', token: 'x' });
      const path = '/v1/channels/slack/events';
      const unsigned = await app.inject({
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/json' },
        payload: body,
      });
      expect(unsigned.statusCode).toBe(401);
      const signed = await app.inject({
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/json', ...slack.sign(body, SIGNING) },
        payload: body,
      });
      expect(signed.statusCode).toBe(200);
      expect(signed.json()).toEqual({ challenge: 'ch-123' });
    } finally {
      await app.close();
    }
  });
});
