/**
 * Per-kind notification routing (tools/notifications/prefs.ts) and publishing outcomes
 * (publishing.ts) against a real API, worker and Mastodon fake: a member routes a kind to some
 * deliverers (REST), the Notifier delivers only there, quiet kinds reach the console only by
 * default; a post that fails on the platform tells its author once (`post.failed`, with the
 * platform's reason), one that publishes is `post.published` (listed, not pushed to chats).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Notifier, notifyPublishingOutcomes, type Notification } from '../../tools/notifications/index.js';
import { startAgentEnv, type AgentEnv } from '../agent/agent-env.js';

let env: AgentEnv;
let notifier: Notifier;
const chats: Array<{ via: string; n: Notification }> = [];
let stop: () => Promise<void>;

beforeAll(async () => {
  env = await startAgentEnv();
  notifier = new Notifier({ db: env.api.env.database.db, events: env.api.env.events });
  for (const via of ['slack', 'telegram'])
    notifier.addDeliverer({ name: via, deliver: async (n) => void chats.push({ via, n }) });
  stop = await notifyPublishingOutcomes({ db: env.api.env.database.db, events: env.api.env.events, notifier });
}, 60_000);
afterAll(async () => {
  await stop?.();
  await env?.close();
});

const inject = (method: 'GET' | 'PUT' | 'POST', url: string, auth: Record<string, string>, payload?: unknown) =>
  env.api.app.inject({ method, url, headers: auth, ...(payload === undefined ? {} : { payload: payload as object }) });

async function until<T>(what: string, find: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const found = await find();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${what}`);
}

describe('notification routing', () => {
  it('a member routes each kind; the Notifier delivers only there; quiet kinds reach the console only by default', async () => {
    const p = await env.api.signUp();
    const other = await env.api.signUp();
    const prefs = await inject('GET', '/v1/notifications/preferences', p.auth);
    const byKind = new Map(
      (prefs.json().items as Array<{ kind: string; channels: string[]; custom: boolean }>).map((i) => [i.kind, i]),
    );
    expect(byKind.get('post.failed')).toMatchObject({ channels: ['websocket', 'slack', 'telegram'], custom: false });
    expect(byKind.get('post.published')).toMatchObject({ channels: ['websocket'], custom: false });

    const set = await inject('PUT', '/v1/notifications/preferences/coach.daily', p.auth, { channels: ['telegram'] });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ kind: 'coach.daily', channels: ['telegram'], custom: true });
    expect(
      (await inject('PUT', '/v1/notifications/preferences/coach.daily', p.auth, { channels: ['email'] })).statusCode,
    ).toBe(400);
    expect((await inject('PUT', '/v1/notifications/preferences/NOT A KIND', p.auth, { channels: [] })).statusCode).toBe(
      400,
    );
    // Another member's routing is their own.
    const theirs = await inject('GET', '/v1/notifications/preferences', other.auth);
    expect(
      (theirs.json().items as Array<{ kind: string; custom: boolean }>).find((i) => i.kind === 'coach.daily')?.custom,
    ).toBe(false);

    const daily = await notifier.send({
      workspaceId: p.workspaceId,
      userId: p.userId,
      kind: 'coach.daily',
      text: 'Morning',
    });
    expect(daily.deliveredBy).toEqual(['telegram']);
    const live = await notifier.send({
      workspaceId: p.workspaceId,
      userId: p.userId,
      kind: 'post.published',
      text: 'Live',
    });
    expect(live.deliveredBy).toEqual(['websocket']);
    await inject('PUT', '/v1/notifications/preferences/post.published', p.auth, { channels: [] });
    const silent = await notifier.send({
      workspaceId: p.workspaceId,
      userId: p.userId,
      kind: 'post.published',
      text: 'Silent',
    });
    expect(silent.deliveredBy).toEqual([]);
    // Back to the default.
    await inject('PUT', '/v1/notifications/preferences/coach.daily', p.auth, { channels: null });
    const again = await notifier.send({
      workspaceId: p.workspaceId,
      userId: p.userId,
      kind: 'coach.daily',
      text: 'Morning 2',
    });
    expect(again.deliveredBy.sort()).toEqual(['slack', 'telegram', 'websocket']);
    // Every one of them is in the member's list.
    const list = await inject('GET', '/v1/notifications', p.auth);
    expect((list.json().items as Notification[]).map((n) => n.text).sort()).toEqual([
      'Live',
      'Morning',
      'Morning 2',
      'Silent',
    ]);
  });

  it('a post that fails tells its author why, once; one that publishes is listed but not pushed to chats', async () => {
    const { p, accountId, fakeAccountId } = await env.personWithMastodon();
    env.mastodon.failNext(fakeAccountId, 'invalid_content');
    const created = await inject('POST', '/v1/posts', p.auth, {
      content: 'Spring sale starts now',
      publishNow: true,
      targets: [{ socialAccountId: accountId }],
    });
    expect(created.statusCode, created.body).toBe(201);
    const failed = await until('post.failed', async () => {
      const items = (await inject('GET', '/v1/notifications', p.auth)).json().items as Notification[];
      return items.find((n) => n.kind === 'post.failed');
    });
    expect(failed.text).toMatch(/^"Spring sale starts now" failed on Mastodon: /);
    expect(failed.data).toMatchObject({
      postId: created.json().id,
      platform: 'mastodon',
      error: { kind: 'invalid_content' },
    });
    expect(
      chats
        .filter((c) => c.n.id === failed.id)
        .map((c) => c.via)
        .sort(),
    ).toEqual(['slack', 'telegram']);

    const ok = await inject('POST', '/v1/posts', p.auth, {
      content: 'Second try',
      publishNow: true,
      targets: [{ socialAccountId: accountId }],
    });
    const published = await until('post.published', async () => {
      const items = (await inject('GET', '/v1/notifications', p.auth)).json().items as Notification[];
      return items.find((n) => n.kind === 'post.published' && n.data.postId === ok.json().id);
    });
    expect(published.text).toMatch(/^"Second try" is live on Mastodon/);
    expect(chats.some((c) => c.n.id === published.id)).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    const all = (await inject('GET', '/v1/notifications', p.auth)).json().items as Notification[];
    expect(all.filter((n) => n.kind === 'post.failed')).toHaveLength(1);
  });
});
