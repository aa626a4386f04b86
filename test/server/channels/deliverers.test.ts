/**
 * Notifications reach the chats a member linked: the notifier (`tools/notifications`, real
 * database) with the Telegram and Slack deliverers added through its extension point, talking
 * to the local Bot API and Web API fakes through grammY's and Slack's real clients. Only the
 * member's own links in that workspace get it, once per dedupe key, and nothing after unlinking.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/index.js';
import { chatDeliverers } from '../../../server/channels/deliverers.js';
import { createLinkCode, redeemLinkCode, unlinkChannel, type ChannelName } from '../../../tools/channels/index.js';
import { Notifier } from '../../../tools/notifications/index.js';
import { startSlackFake, type SlackFake } from '../../fakes/slack.js';
import { startTelegramFake, type TelegramFake } from '../../fakes/telegram.js';
import { startApiEnv, type ApiEnv, type Person } from '../../helpers/api-env.js';

let api: ApiEnv;
let tg: TelegramFake;
let slack: SlackFake;
let notifier: Notifier;
let n = 0;

const ctxOf = (p: Person) => ({
  workspaceId: p.workspaceId,
  userId: p.userId,
  role: 'owner' as const,
  channel: 'rest',
});

async function link(p: Person, channel: ChannelName, externalId: string): Promise<void> {
  const deps = { db: api.env.database.db };
  const { code } = await createLinkCode(deps, ctxOf(p), channel);
  await redeemLinkCode(deps, channel, externalId, code);
}

beforeAll(async () => {
  api = await startApiEnv();
  tg = await startTelegramFake();
  slack = await startSlackFake();
  notifier = new Notifier({ db: api.env.database.db, events: null, logger: createLogger({ level: 'silent' }) });
  for (const d of chatDeliverers(api.env.database.db, {
    telegram: { token: tg.token, apiUrl: tg.url },
    slack: { botToken: slack.token, apiUrl: slack.apiUrl },
  }))
    notifier.addDeliverer(d);
}, 60_000);

afterAll(async () => {
  await tg?.close();
  await slack?.close();
  await api?.close();
});

describe('notifications in linked chats', () => {
  it("a member's notification reaches their Telegram chat and their Slack DM, once per dedupe key", async () => {
    const p = await api.signUp();
    const other = await api.signUp();
    const chat = 70_000 + ++n;
    const otherChat = 70_000 + ++n;
    const user = `UN${++n}`;
    await link(p, 'telegram', String(chat));
    await link(p, 'slack', `${slack.team}:${user}`);
    await link(other, 'telegram', String(otherChat));

    const input = {
      workspaceId: p.workspaceId,
      userId: p.userId,
      // post.published would reach the console only (a quiet kind); a failure goes everywhere.
      kind: 'post.failed',
      text: '"Spring sale" failed on Mastodon: the text is too long.',
      dedupeKey: `failed:${n}`,
    };
    const sent = await notifier.send(input);
    expect(sent.deliveredBy.sort()).toEqual(['slack', 'telegram']);
    expect(tg.messages(chat).map((m) => m.text)).toEqual([input.text]);
    expect(slack.messages(user).map((m) => m.text)).toEqual([input.text]);
    expect(tg.messages(otherChat)).toEqual([]);

    const again = await notifier.send(input);
    expect(again.duplicate).toBe(true);
    expect(tg.messages(chat)).toHaveLength(1);
    expect(slack.messages(user)).toHaveLength(1);
  });

  it('after the member unlinks Telegram, only Slack gets the next one; an unlinked member gets none', async () => {
    const p = await api.signUp();
    const chat = 70_000 + ++n;
    const user = `UN${++n}`;
    await link(p, 'telegram', String(chat));
    await link(p, 'slack', `${slack.team}:${user}`);
    await unlinkChannel({ db: api.env.database.db }, ctxOf(p), 'telegram');
    const sent = await notifier.send({
      workspaceId: p.workspaceId,
      userId: p.userId,
      kind: 'coach.daily',
      text: 'Morning!',
    });
    expect(tg.messages(chat)).toEqual([]);
    expect(slack.messages(user).map((m) => m.text)).toEqual(['Morning!']);
    expect(sent.deliveredBy.sort()).toEqual(['slack', 'telegram']);

    const lone = await api.signUp();
    const before = tg.calls.filter((c) => c.method === 'sendMessage').length;
    await notifier.send({ workspaceId: lone.workspaceId, userId: lone.userId, kind: 'coach.daily', text: 'Hello?' });
    expect(tg.calls.filter((c) => c.method === 'sendMessage').length).toBe(before);
  });
});
