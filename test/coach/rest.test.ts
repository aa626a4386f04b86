/**
 * The coach over REST: goals set from the measured baseline, listed and dropped; progress
 * with the forecast; settings validated (typed 400s); a check-in; the history; accepting a
 * slot action posts the member's text there (editor — a viewer is refused before anything
 * is read), a slot without text is refused, another member's message is not found.
 */
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptAction, runDaily, type CoachDeps } from '../../coach/index.js';
import { createMastodonConnector } from '../../connectors/mastodon/index.js';
import { Notifier } from '../../tools/notifications/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';
import { addFollowers, addHistory, dailyPosts } from './coach-history.js';

import { coachWriter } from '../../agent/index.js';
import { LedgerUsageSink, ModelRegistry, ModelRouter } from '../../agent/models/index.js';
import { startFakeLlm } from '../fakes/llm/index.js';

const ZONE = 'Europe/Paris';
let api: ApiEnv;
let p: Person;
let accountId: string;
let deps: CoachDeps;

beforeAll(async () => {
  api = await startApiEnv({ connectors: [createMastodonConnector({ timeoutMs: 1_000 })] });
  p = await api.signUp({ timeZone: ZONE });
  accountId = await api.env.addAccount(p.workspaceId, {
    platform: 'mastodon',
    externalId: 'rest-1',
    handle: 'coached',
    credentials: { accessToken: 'x' },
    metadata: { instanceUrl: 'http://127.0.0.1:9' },
  });
  const ws = {
    ctx: { workspaceId: p.workspaceId, userId: p.userId, role: 'owner' as const, timeZone: ZONE, channel: 'rest' },
    accountId,
    platform: 'mastodon',
  };
  const now = new Date();
  await addFollowers(api.env, ws, now, 20, (d) => 300 - 2 * d + (d % 2));
  await addHistory(
    api.env,
    ws,
    dailyPosts(now, ZONE, 10, () => 7),
  );
  deps = {
    db: api.env.database.db,
    scheduling: api.env.deps,
    notifier: new Notifier({ db: api.env.database.db, events: api.env.events }),
  };
}, 60_000);
afterAll(async () => {
  await api?.close();
});

const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, who: Person = p) =>
  api.app.inject({ method, url, headers: who.auth, ...(payload === undefined ? {} : { payload }) });
const due = () => DateTime.now().setZone(ZONE).plus({ months: 4 }).toFormat('yyyy-LL-dd');

describe('coach REST', () => {
  it('sets, lists, reads progress of, and drops a goal', async () => {
    const set = await call('POST', '/v1/coach/goals', {
      metric: 'followers',
      target: 500,
      dueDate: due(),
      account: 'mastodon',
    });
    expect(set.statusCode, set.body).toBe(201);
    expect(set.json()).toMatchObject({ baseline: 300, target: 500, status: 'active', socialAccountId: accountId });
    const list = (await call('GET', '/v1/coach/goals')).json();
    expect(list.items.map((g: { id: string }) => g.id)).toContain(set.json().id);
    const progress = (await call('GET', `/v1/coach/progress?goalId=${set.json().id as string}`)).json();
    expect(progress.goals[0]).toMatchObject({ current: 300, progressPct: 0, onTrack: expect.any(Boolean) });
    expect(progress.goals[0].forecast.method).toContain('90% prediction interval');
    expect(progress.goals[0].plan.accounts[0]).toMatchObject({ socialAccountId: accountId });
    const dropped = await call('DELETE', `/v1/coach/goals/${set.json().id as string}`);
    expect(dropped.json().status).toBe('abandoned');
    expect((await call('GET', '/v1/coach/goals')).json().items).toEqual([]);
    expect((await call('GET', '/v1/coach/goals?status=all')).json().items).toHaveLength(1);
  });

  it('refuses bad input with typed errors', async () => {
    const bad = await call('POST', '/v1/coach/goals', { metric: 'likes', target: 5, dueDate: due() });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('validation_failed');
    const time = await call('PUT', '/v1/coach/settings', { dailyTime: '25:00' });
    expect(time.statusCode).toBe(400);
    const kind = await call('PUT', '/v1/coach/settings', { muted: ['everything'] });
    expect(kind.statusCode).toBe(400);
    const ok = await call('PUT', '/v1/coach/settings', {
      dailyTime: '07:15',
      quietDays: [6, 7],
      muted: ['draft_pile'],
    });
    expect(ok.json()).toEqual({
      enabled: true,
      dailyTime: '07:15',
      quietDays: [6, 7],
      muted: ['draft_pile'],
      timeZone: ZONE,
    });
    expect((await call('GET', '/v1/coach/goals/nope')).statusCode).toBe(404);
  });

  it('checks in, keeps the history, and accepts a slot with the text to post', async () => {
    await call('POST', '/v1/coach/goals', { metric: 'followers', target: 400, dueDate: due(), account: 'mastodon' });
    const checkin = (await call('POST', '/v1/coach/checkin')).json();
    expect(checkin.progress[0]).toMatchObject({ current: 300 });
    expect(checkin.today.streak).toBe(10);
    expect(checkin.text).toContain('Streak: 10 days in a row with a post.');
    const day = DateTime.now().setZone(ZONE).toFormat('yyyy-LL-dd');
    await call('PUT', '/v1/coach/settings', { quietDays: [] });
    const sent = await runDaily(deps, { workspaceId: p.workspaceId, userId: p.userId, day });
    expect(sent.kind).toBe('sent');
    const history = (await call('GET', '/v1/coach/history')).json();
    const message = history.items.find((i: { kind: string }) => i.kind === 'daily');
    expect(message.actions[0]).toMatchObject({ id: 'a1', type: 'slot', acted: false });
    const url = `/v1/coach/messages/${message.id as string}/actions/a1/accept`;
    const noText = await call('POST', url, {});
    expect(noText.statusCode).toBe(400);
    const viewer = {
      workspaceId: p.workspaceId,
      userId: p.userId,
      role: 'viewer' as const,
      timeZone: ZONE,
      channel: 'rest',
    };
    await expect(acceptAction(deps, viewer, message.id, 'a1', { text: 'x' })).rejects.toMatchObject({
      code: 'forbidden',
    });
    const stranger = await api.signUp({ timeZone: ZONE });
    expect((await call('POST', url, { text: 'mine now' }, stranger)).statusCode).toBe(404);
    // A double press: both answer with the one post scheduled (or the second says it is under way).
    const [accepted, twice] = await Promise.all([
      call('POST', url, { text: 'A fresh idea for today' }),
      call('POST', url, { text: 'A fresh idea for today' }),
    ]);
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json().post.targets[0]).toMatchObject({ status: 'scheduled', socialAccountId: accountId });
    expect([200, 409]).toContain(twice.statusCode);
    const third = await call('POST', url, { text: 'A fresh idea for today' });
    expect(third.statusCode, third.body).toBe(200);
    expect(third.json().post.id).toBe(accepted.json().post.id);
    const posts = (await call('GET', '/v1/posts?limit=100')).json().items as Array<{ content: string }>;
    expect(posts.filter((x) => x.content === 'A fresh idea for today')).toHaveLength(1);
    const after = (await call('GET', '/v1/coach/history')).json();
    const again = after.items.find((i: { id: string }) => i.id === message.id);
    expect(again.actions[0].acted).toBe(true);
    expect(after.effectiveness).toMatchObject({ acted: 1 });
  });

  it('accepts a slot the model drafted a post for in one tap: no text needed', async () => {
    const llm = await startFakeLlm({
      openai: (req) => {
        const f = JSON.parse(req.lastUserText.replace(/^FACTS:\n/, '')) as { actions: string[]; draftFor: number[] };
        return {
          text: `Good morning!\n1. ${f.actions[0]}\n${f.draftFor.map((n) => `DRAFT ${n}: Fresh from the oven today.`).join('\n')}`,
        };
      },
    });
    try {
      const router = new ModelRouter({
        registry: new ModelRegistry(),
        providers: { openai: { apiKey: 'sk-test', baseUrl: llm.openaiUrl } },
        usage: new LedgerUsageSink(api.env.database.db, { cacheMs: 0 }),
      });
      const q = await api.signUp({ timeZone: ZONE });
      const account = await api.env.addAccount(q.workspaceId, {
        platform: 'mastodon',
        externalId: 'rest-2',
        handle: 'drafted',
        credentials: { accessToken: 'x' },
        metadata: { instanceUrl: 'http://127.0.0.1:9' },
      });
      const ctx = {
        workspaceId: q.workspaceId,
        userId: q.userId,
        role: 'owner' as const,
        timeZone: ZONE,
        channel: 'rest',
      };
      await addFollowers(api.env, { ctx, accountId: account, platform: 'mastodon' }, new Date(), 5, () => 50);
      const asQ = (method: 'GET' | 'POST', url: string, payload?: object) => call(method, url, payload, q);
      expect(
        (await asQ('POST', '/v1/coach/goals', { metric: 'followers', target: 90, dueDate: due(), account: 'mastodon' }))
          .statusCode,
      ).toBe(201);
      const day = DateTime.now().setZone(ZONE).toFormat('yyyy-LL-dd');
      const sent = await runDaily(
        { ...deps, writer: coachWriter(router, api.env.database.db) },
        { workspaceId: q.workspaceId, userId: q.userId, day },
      );
      expect(sent).toMatchObject({ kind: 'sent', source: 'model' });
      const message = (await asQ('GET', '/v1/coach/history'))
        .json()
        .items.find((i: { kind: string }) => i.kind === 'daily');
      expect(message.actions[0]).toMatchObject({ id: 'a1', type: 'slot', text: 'Fresh from the oven today.' });
      const accepted = await asQ('POST', `/v1/coach/messages/${message.id as string}/actions/a1/accept`, {});
      expect(accepted.statusCode, accepted.body).toBe(200);
      expect(accepted.json().post).toMatchObject({ content: 'Fresh from the oven today.' });
      expect(accepted.json().post.targets[0]).toMatchObject({ status: 'scheduled', socialAccountId: account });
    } finally {
      await llm.close();
    }
  });
});
