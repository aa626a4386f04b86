/**
 * Slack over Socket Mode, end to end: the real Bolt `SocketModeReceiver` (and
 * `@slack/socket-mode`) asks the local fake for a WebSocket URL with the app-level token,
 * dials it, and takes events and button presses as envelopes it acknowledges by
 * `envelope_id`; the fake (test/fakes/slack.ts) speaks Slack's Socket Mode protocol as its
 * docs describe it (hello, envelopes re-sent until acked, disconnect/refresh). Turns are
 * answered by the real agent. No HTTP route is served.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, schema } from '../../../core/index.js';
import { SlackChannel } from '../../../server/channels/slack/index.js';
import { errorsPlugin } from '../../../server/plugins/errors.js';
import { startAgentEnv, toolResults, type AgentEnv } from '../../agent/agent-env.js';
import type { FakeChatRequest, FakeReply } from '../../fakes/llm/index.js';
import { startSlackFake, type SlackFake } from '../../fakes/slack.js';

const PREFIX = `test-slack-socket-${randomUUID()}`;
const SALE = 'Socket sale: 20% off until Sunday!';
let env: AgentEnv;
let slack: SlackFake;
let channel: SlackChannel;
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

const dmEvent = (user: string, dm: string, text: string) => ({
  type: 'message',
  channel_type: 'im',
  channel: dm,
  user,
  text,
  ts: `${++n}.0001`,
});

async function linked(): Promise<{
  p: Awaited<ReturnType<AgentEnv['personWithMastodon']>>['p'];
  user: string;
  dm: string;
}> {
  const { p } = await env.personWithMastodon();
  const res = await fetch(`${env.api.baseUrl}/v1/channels/link-codes`, {
    method: 'POST',
    headers: { ...p.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'slack' }),
  });
  const { code } = (await res.json()) as { code: string };
  const user = `U${++n}`;
  const dm = `D${n}`;
  const sent = await slack.socket.sendEvent(dmEvent(user, dm, `link ${code}`));
  expect(sent).toMatchObject({ acked: true, attempts: 1 });
  await until('linked', () => slack.messages(dm).find((m) => m.text.startsWith('Linked')));
  return { p, user, dm };
}

beforeAll(async () => {
  env = await startAgentEnv();
  slack = await startSlackFake();
  channel = new SlackChannel({
    botToken: slack.token,
    appToken: slack.socket.appToken,
    apiUrl: slack.apiUrl,
    db: env.api.env.database.db,
    redis: env.api.deps.redis,
    keyPrefix: PREFIX,
    chat: env.handler,
    logger: createLogger({ level: 'silent' }),
  });
  await channel.start();
}, 60_000);

afterAll(async () => {
  await channel?.close();
  await slack?.close();
  await env?.close();
});

describe('slack socket mode', () => {
  it('connects with the app-level token and serves no HTTP route', async () => {
    expect(channel.mode).toBe('socket');
    expect(slack.socket.open).toBe(1);
    expect(slack.socket.urlsIssued).toBe(1);
    const app = Fastify();
    await app.register(errorsPlugin);
    await app.register(channel.receiver.routes, { prefix: '/v1' });
    const res = await app.inject({ method: 'POST', url: '/v1/channels/slack/events', payload: {} });
    expect(res.statusCode).toBe(404);
    await app.close();
  });

  it('a direct message envelope is acked and answered by the agent; its redelivery runs nothing', async () => {
    const { user, dm } = await linked();
    env.brain = () => ({ text: 'Hello over the socket.' });
    const eventId = `EvSock${++n}`;
    const first = await slack.socket.sendEvent(dmEvent(user, dm, 'hi'), eventId);
    expect(first).toMatchObject({ acked: true, attempts: 1 });
    await until('the answer', () => slack.messages(dm).find((m) => m.text === 'Hello over the socket.'));
    // Slack sends an event again when it doubts the ack (another connection, a timeout).
    expect(await slack.socket.sendEvent(dmEvent(user, dm, 'hi'), eventId)).toMatchObject({ acked: true });
    await channel.idle();
    expect(slack.messages(dm).filter((m) => m.text === 'Hello over the socket.')).toHaveLength(1);
  });

  it('Approve pressed over the socket schedules the post once', async () => {
    const { p, user, dm } = await linked();
    env.brain = (req: FakeChatRequest): FakeReply => {
      const results = toolResults(req);
      if (results.length === 0)
        return { toolCalls: [{ name: 'draft_post', args: { text: SALE, accounts: ['mastodon'] } }] };
      if (results.length === 1) {
        const { postId } = JSON.parse(results[0]!) as { postId: string };
        return { toolCalls: [{ name: 'schedule_post', args: { postId, at: 'tomorrow at 9' } }] };
      }
      return { text: 'Scheduled over the socket.' };
    };
    await slack.socket.sendEvent(dmEvent(user, dm, 'draft our sale for Mastodon and schedule it tomorrow at 9'));
    const ask = await until('the buttons', () => slack.messages(dm).find((m) => m.blocks?.length));
    const [approve] = (ask.blocks![1] as { elements: Array<{ value: string }> }).elements;
    const pressed = await slack.socket.pressButton({ user, channel: dm, message: ask, value: approve!.value });
    expect(pressed).toMatchObject({ acked: true, attempts: 1 });
    await until('the answer', () => slack.messages(dm).find((m) => m.text === 'Scheduled over the socket.'));
    await channel.idle();
    const t = schema.postTargets;
    const rows = await env.api.env.database.db.select().from(t).where(eq(t.workspaceId, p.workspaceId));
    expect(rows.map((r) => r.status)).toEqual(['scheduled']);
  });

  it('after Slack asks for a refresh, the app opens a new URL and goes on taking events', async () => {
    const { user, dm } = await linked();
    const issued = slack.socket.urlsIssued;
    slack.socket.disconnect('refresh_requested');
    await until('a new connection', () => slack.socket.urlsIssued > issued && slack.socket.open === 1);
    await slack.socket.waitOpen(1);
    env.brain = () => ({ text: 'Still here after the refresh.' });
    const sent = await slack.socket.sendEvent(dmEvent(user, dm, 'still there?'));
    expect(sent).toMatchObject({ acked: true, attempts: 1 });
    await until('the answer', () => slack.messages(dm).find((m) => m.text === 'Still here after the refresh.'));
  });
});
