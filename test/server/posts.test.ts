/**
 * Posts over REST against the real API (PGlite, Redis, the real Bluesky connector for
 * validation; no worker runs, so nothing publishes): drafts and variants, pagination,
 * scheduling, the calendar in the user's zone, approvals, accounts, and bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { gunzipSync } from 'node:zlib';
import { createBlueskyConnector } from '../../connectors/bluesky/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';

let api: ApiEnv;
let n = 0;

beforeAll(async () => {
  api = await startApiEnv({ connectors: [createBlueskyConnector({ timeoutMs: 1_000 })] });
});
afterAll(() => api?.close());

async function account(workspaceId: string): Promise<string> {
  const handle = `posts${++n}.test`;
  return api.env.addAccount(workspaceId, {
    platform: 'bluesky',
    externalId: `did:plc:posts${n}x${Date.now()}`,
    handle,
    credentials: { service: 'http://127.0.0.1:9', did: `did:plc:posts${n}`, handle, accessJwt: 'a', refreshJwt: 'r' },
  });
}

function call(p: Person | null, method: string, url: string, payload?: unknown) {
  return api.app.inject({
    method: method as 'GET',
    url,
    headers: p ? p.auth : {},
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

/** 02:30 on next year's spring-forward night in New York (second Sunday of March): a time that does not exist. */
function springForwardGap(): string {
  const march = DateTime.fromObject({ year: DateTime.now().year + 1, month: 3, day: 1 });
  const firstSunday = march.plus({ days: (7 - march.weekday) % 7 });
  return `${firstSunday.plus({ days: 7 }).toFormat('yyyy-MM-dd')}T02:30`;
}

const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

async function jobState(targetId: string) {
  const job = await api.env.queue.queue.getJob(targetId);
  return job ? job.getState() : null;
}

describe('posts', () => {
  it('draft with per-account variants → edit → schedule → cancel, with the queue following', async () => {
    const me = await api.signUp({ timeZone: 'Europe/Paris' });
    const a1 = await account(me.workspaceId);
    const a2 = await account(me.workspaceId);
    const created = await call(me, 'POST', '/v1/posts', {
      content: 'Launch day',
      tags: ['launch'],
      draft: true,
      targets: [{ socialAccountId: a1 }, { socialAccountId: a2, content: 'Launch day 🚀 (Bluesky cut)' }],
    });
    expect(created.statusCode).toBe(201);
    const post = created.json();
    expect(post.targets.map((t: { status: string }) => t.status)).toEqual(['draft', 'draft']);
    expect(post.targets.map((t: { content: string }) => t.content)).toEqual([
      'Launch day',
      'Launch day 🚀 (Bluesky cut)',
    ]);
    const [t1, t2] = post.targets as Array<{ id: string; version: number }>;

    // Edit one target's variant; a stale version is a conflict and changes nothing.
    const edited = await call(me, 'PUT', `/v1/posts/${post.id}/targets/${t1!.id}`, {
      content: 'Launch day, variant one',
      version: t1!.version,
    });
    expect(edited.statusCode).toBe(200);
    expect(edited.json()).toMatchObject({ content: 'Launch day, variant one', version: t1!.version + 1 });
    const stale = await call(me, 'PUT', `/v1/posts/${post.id}/targets/${t1!.id}`, {
      content: 'lost update',
      version: t1!.version,
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error.code).toBe('conflict');
    const single = await call(me, 'GET', `/v1/posts/${post.id}/targets/${t1!.id}`);
    expect(single.json().content).toBe('Launch day, variant one');

    const master = await call(me, 'PUT', `/v1/posts/${post.id}`, { content: 'Launch day (master)', tags: ['a', 'b'] });
    expect(master.json()).toMatchObject({ content: 'Launch day (master)', tags: ['a', 'b'] });

    // Schedule the draft at a wall-clock time in the user's zone (Paris).
    const local = DateTime.now()
      .setZone('Europe/Paris')
      .plus({ days: 2 })
      .set({ hour: 9, minute: 30, second: 0, millisecond: 0 });
    const scheduled = await call(me, 'POST', `/v1/posts/${post.id}/schedule`, {
      at: local.toFormat("yyyy-MM-dd'T'HH:mm"),
    });
    expect(scheduled.statusCode).toBe(200);
    for (const t of scheduled.json().targets) {
      expect(t.status).toBe('scheduled');
      expect(new Date(t.scheduledAt).getTime()).toBe(local.toMillis());
      expect(t.scheduledAtLocal).toMatch(/T09:30:00\.000\+0[12]:00$/);
      expect(await jobState(t.id)).toBe('delayed');
    }

    // The calendar shows both on that local day, in the user's zone.
    const day = local.toFormat('yyyy-MM-dd');
    const cal = await call(
      me,
      'GET',
      `/v1/calendar?from=${day}T00:00&to=${local.plus({ days: 1 }).toFormat('yyyy-MM-dd')}T00:00`,
    );
    expect(cal.statusCode).toBe(200);
    expect(cal.json()).toMatchObject({ timeZone: 'Europe/Paris', days: { [day]: 2 } });
    const tokyo = await call(
      me,
      'GET',
      `/v1/calendar?from=${day}T00:00&to=${local.plus({ days: 1 }).toFormat('yyyy-MM-dd')}T00:00&zone=Asia/Tokyo`,
    );
    expect(tokyo.json().timeZone).toBe('Asia/Tokyo');

    // Cancel one target: its job is gone, the other stays.
    const cancelled = await call(me, 'POST', `/v1/posts/${post.id}/targets/${t2!.id}/cancel`);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json().status).toBe('cancelled');
    expect(await jobState(t2!.id)).toBeNull();
    expect(await jobState(t1!.id)).toBe('delayed');
    // A cancelled target cannot be edited.
    const late = await call(me, 'PUT', `/v1/posts/${post.id}/targets/${t2!.id}`, { content: 'x' });
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('invalid_state');

    // Moving the scheduled target moves its job.
    const moved = await call(me, 'PUT', `/v1/posts/${post.id}/targets/${t1!.id}`, {
      content: 'Launch day, variant one',
      scheduledAt: local.plus({ hours: 3 }).toISO(),
    });
    expect(moved.statusCode).toBe(200);
    const job = await api.env.queue.queue.getJob(t1!.id);
    expect(job!.timestamp + job!.delay).toBeGreaterThan(local.plus({ hours: 3 }).toMillis() - 5_000);

    // The full post shows attempts (none yet) and the audit trail records every step.
    const full = await call(me, 'GET', `/v1/posts/${post.id}`);
    expect(full.json().targets).toHaveLength(2);
    const audit = await call(me, 'GET', '/v1/audit?limit=50');
    const actions = audit.json().items.map((e: { action: string }) => e.action);
    for (const a of ['post.draft', 'post.target_update', 'post.update', 'post.schedule', 'post.cancel']) {
      expect(actions).toContain(a);
    }
    expect(audit.json().items[0]).toMatchObject({ channel: 'rest', actorKind: 'user', actorId: me.userId });

    // Delete removes the post and its queued job.
    expect((await call(me, 'DELETE', `/v1/posts/${post.id}`)).statusCode).toBe(204);
    expect((await call(me, 'GET', `/v1/posts/${post.id}`)).statusCode).toBe(404);
    expect(await jobState(t1!.id)).toBeNull();
  });

  it('lists newest first with a stable cursor across pages, and filters by status', async () => {
    const me = await api.signUp();
    const acct = await account(me.workspaceId);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await call(me, 'POST', '/v1/posts', {
        content: `post ${i}`,
        targets: [{ socialAccountId: acct }],
        ...(i % 2 ? { at: inAnHour() } : { draft: true }),
      });
      expect(res.statusCode).toBe(201);
      ids.push(res.json().id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(me, 'GET', `/v1/posts?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      seen.push(...body.items.map((p: { id: string }) => p.id));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());

    const drafts = await call(me, 'GET', '/v1/posts?status=draft');
    expect(drafts.json().items).toHaveLength(4);
    const bad = await call(me, 'GET', '/v1/posts?status=drafty');
    expect(bad.statusCode).toBe(400);
    const badCursor = await call(me, 'GET', '/v1/posts?cursor=bm9wZQ');
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.json().error.code).toBe('validation_failed');
  });

  it('the list never serves a page older than a committed change, whoever made it', async () => {
    const me = await api.signUp();
    const acct = await account(me.workspaceId);
    const created = await call(me, 'POST', '/v1/posts', {
      content: 'cached?',
      draft: true,
      targets: [{ socialAccountId: acct }],
    });
    const post = created.json() as { id: string; targets: Array<{ id: string }> };
    const list = async () =>
      (await call(me, 'GET', '/v1/posts?limit=5')).json().items as Array<{
        id: string;
        content: string;
        targets: Array<{ status: string }>;
      }>;
    expect((await list())[0]).toMatchObject({ content: 'cached?', targets: [{ status: 'draft' }] });
    // The same page again comes from the cache and is byte-identical.
    const [r1, r2] = [await call(me, 'GET', '/v1/posts?limit=5'), await call(me, 'GET', '/v1/posts?limit=5')];
    expect(r2.body).toBe(r1.body);
    // Changes made outside this API process (a worker, another node), straight in the database.
    const db = api.env.database.db;
    await db.execute(sql`update post_targets set status = 'failed' where id = ${post.targets[0]!.id}`);
    expect((await list())[0]!.targets[0]!.status).toBe('failed');
    await db.execute(sql`update posts set content = 'changed elsewhere' where id = ${post.id}`);
    expect((await list())[0]!.content).toBe('changed elsewhere');
    await db.execute(sql`delete from posts where id = ${post.id}`);
    expect((await list()).map((p) => p.id)).not.toContain(post.id);
  });

  it('the list is gzipped for clients that take gzip, the same JSON, and never older than a change', async () => {
    const me = await api.signUp();
    const acct = await account(me.workspaceId);
    for (const content of ['first', 'second']) {
      await call(me, 'POST', '/v1/posts', { content, draft: true, targets: [{ socialAccountId: acct }] });
    }
    const get = (acceptEncoding?: string) =>
      api.app.inject({
        method: 'GET',
        url: '/v1/posts?limit=10',
        headers: { ...me.auth, ...(acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding }) },
      });
    const plain = await get();
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toContain('accept-encoding');
    for (const accept of ['gzip', 'gzip, deflate, br, zstd', 'br;q=1, gzip;q=0.5', '*']) {
      const res = await get(accept);
      expect(res.headers['content-encoding'], accept).toBe('gzip');
      expect(res.headers.vary).toContain('accept-encoding');
      expect(gunzipSync(res.rawPayload).toString()).toBe(plain.body);
      expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
    }
    // Refused or unknown encodings get the plain page.
    for (const accept of ['gzip;q=0', 'br', 'identity', '*;q=0, identity']) {
      const res = await get(accept);
      expect(res.headers['content-encoding'], accept).toBeUndefined();
      expect(res.body).toBe(plain.body);
    }
    // A change shows in the gzipped page too.
    await call(me, 'POST', '/v1/posts', { content: 'third', draft: true, targets: [{ socialAccountId: acct }] });
    const after = JSON.parse(gunzipSync((await get('gzip')).rawPayload).toString()) as {
      items: Array<{ content: string }>;
    };
    expect(after.items.map((p) => p.content)).toEqual(['third', 'second', 'first']);
  });

  it('the list summary shows the same instants and local times as the full post, in any zone', async () => {
    for (const zone of ['UTC', 'Europe/London', 'Asia/Kolkata', 'America/St_Johns']) {
      const me = await api.signUp({ timeZone: zone });
      const acct = await account(me.workspaceId);
      const created = await call(me, 'POST', '/v1/posts', {
        content: `in ${zone}`,
        at: inAnHour(),
        targets: [{ socialAccountId: acct }],
      });
      const full = (await call(me, 'GET', `/v1/posts/${created.json().id}`)).json();
      const listed = (await call(me, 'GET', '/v1/posts')).json().items[0];
      expect(listed.id, zone).toBe(full.id);
      expect(listed.createdAt, zone).toBe(full.createdAt);
      expect(listed.targets[0], zone).toMatchObject({
        id: full.targets[0].id,
        status: 'scheduled',
        scheduledAt: full.targets[0].scheduledAt,
        scheduledAtLocal: full.targets[0].scheduledAtLocal,
        version: full.targets[0].version,
      });
    }
  });

  it('rejects bad input with the field named, and stores nothing', async () => {
    const me = await api.signUp({ timeZone: 'America/New_York' });
    const acct = await account(me.workspaceId);
    const before = (await call(me, 'GET', '/v1/posts')).json().items.length;

    const tooLong = await call(me, 'POST', '/v1/posts', {
      content: 'x'.repeat(301),
      at: inAnHour(),
      targets: [{ socialAccountId: acct }],
    });
    expect(tooLong.statusCode).toBe(422);
    expect(tooLong.json().error).toMatchObject({ code: 'target_invalid' });
    expect(JSON.stringify(tooLong.json().error.details)).toContain('300');

    const past = await call(me, 'POST', '/v1/posts', {
      content: 'hi',
      at: '2020-01-01T10:00:00Z',
      targets: [{ socialAccountId: acct }],
    });
    expect(past.statusCode).toBe(400);
    expect(past.json().error.code).toBe('invalid_time');

    // 02:30 on the spring-forward night does not exist in New York.
    const gap = await call(me, 'POST', '/v1/posts', {
      content: 'hi',
      at: springForwardGap(),
      targets: [{ socialAccountId: acct }],
    });
    expect(gap.statusCode).toBe(400);
    expect(gap.json().error.code).toBe('invalid_time');

    const neither = await call(me, 'POST', '/v1/posts', { content: 'hi', targets: [{ socialAccountId: acct }] });
    expect(neither.statusCode).toBe(400);
    expect(neither.json().error.details.issues[0]).toMatchObject({ in: 'body', field: 'at' });

    const unknownField = await call(me, 'POST', '/v1/posts', {
      content: 'hi',
      draft: true,
      targets: [{ socialAccountId: acct }],
      visibilty: 'public',
    });
    expect(unknownField.statusCode).toBe(400);

    const badZone = await call(me, 'GET', '/v1/calendar?from=2026-01-01&to=2026-02-01&zone=Mars/Olympus');
    expect(badZone.statusCode).toBe(400);
    expect(badZone.json().error.details.issues[0]).toMatchObject({ in: 'querystring', field: 'zone' });

    const malformed = await api.app.inject({
      method: 'POST',
      url: '/v1/posts',
      headers: { ...me.auth, 'content-type': 'application/json' },
      payload: '{"content": "hi", "draft": tru',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBeTypeOf('string');

    const wrongType = await api.app.inject({
      method: 'POST',
      url: '/v1/posts',
      headers: { ...me.auth, 'content-type': 'text/csv' },
      payload: 'content,at\nhi,now',
    });
    expect(wrongType.statusCode).toBe(415);

    const huge = await api.app.inject({
      method: 'POST',
      url: '/v1/posts',
      headers: { ...me.auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ content: 'x'.repeat(api.deps.limits.bodyLimitBytes + 10), draft: true, targets: [] }),
    });
    expect(huge.statusCode).toBe(413);

    expect((await call(me, 'GET', '/v1/posts')).json().items.length).toBe(before);
  });

  it('approvals: an editor submits, an admin rejects with a comment, then approves; viewers cannot write', async () => {
    const owner = await api.signUp();
    const acct = await account(owner.workspaceId);
    expect((await call(owner, 'PATCH', '/v1/workspace', { requireApproval: true })).statusCode).toBe(200);
    const invite = async (role: string) =>
      api.signUp({
        invitationToken: (
          await call(owner, 'POST', '/v1/invitations', { email: `${role}${++n}@example.com`, role })
        ).json().token,
      });
    const editor = await invite('editor');
    const viewer = await invite('viewer');

    const submitted = await call(editor, 'POST', '/v1/posts', {
      content: 'Needs a look',
      at: inAnHour(),
      targets: [{ socialAccountId: acct }],
    });
    expect(submitted.statusCode).toBe(201);
    const post = submitted.json();
    const targetId = post.targets[0].id;
    expect(post.targets[0].status).toBe('pending_approval');
    expect(await jobState(targetId)).toBeNull();

    const queue = await call(owner, 'GET', '/v1/approvals');
    expect(queue.json().items.map((p: { id: string }) => p.id)).toEqual([post.id]);

    const selfApprove = await call(editor, 'POST', `/v1/posts/${post.id}/approve`, {});
    expect(selfApprove.statusCode).toBe(403);
    expect(selfApprove.json().error.code).toBe('forbidden');

    const noComment = await call(owner, 'POST', `/v1/posts/${post.id}/reject`, { comment: '  ' });
    expect(noComment.statusCode).toBe(400);
    const rejected = await call(owner, 'POST', `/v1/posts/${post.id}/reject`, { comment: 'Add the link please' });
    expect(rejected.statusCode).toBe(200);
    expect(rejected.json().targets[0].status).toBe('draft');

    const fixed = await call(editor, 'PUT', `/v1/posts/${post.id}/targets/${targetId}`, {
      content: 'Needs a look https://example.com',
    });
    expect(fixed.statusCode).toBe(200);
    const resubmitted = await call(editor, 'POST', `/v1/posts/${post.id}/schedule`, {});
    expect(resubmitted.json().targets[0].status).toBe('pending_approval');

    const approved = await call(owner, 'POST', `/v1/posts/${post.id}/approve`, { comment: 'Ship it' });
    expect(approved.statusCode).toBe(200);
    expect(approved.json().targets[0].status).toBe('scheduled');
    expect(await jobState(targetId)).toBe('delayed');
    const again = await call(owner, 'POST', `/v1/posts/${post.id}/approve`, {});
    expect(again.statusCode).toBe(409);

    const full = (await call(viewer, 'GET', `/v1/posts/${post.id}`)).json();
    expect(full.reviews.map((r: { decision: string; comment: string | null }) => [r.decision, r.comment])).toEqual([
      ['submitted', null],
      ['rejected', 'Add the link please'],
      ['submitted', null],
      ['approved', 'Ship it'],
    ]);

    // A viewer reads but never writes, whatever the route.
    for (const [method, url, body] of [
      ['POST', '/v1/posts', { content: 'x', draft: true, targets: [{ socialAccountId: acct }] }],
      ['PUT', `/v1/posts/${post.id}`, { content: 'x' }],
      ['PUT', `/v1/posts/${post.id}/targets/${targetId}`, { content: 'x' }],
      ['POST', `/v1/posts/${post.id}/targets/${targetId}/cancel`, undefined],
      ['DELETE', `/v1/posts/${post.id}`, undefined],
      ['DELETE', `/v1/social-accounts/${acct}`, undefined],
    ] as const) {
      const res = await call(viewer, method, url, body);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
    }
    expect(await jobState(targetId)).toBe('delayed');
  });

  it('social accounts: listed without tokens; disconnecting cancels what has not gone out', async () => {
    const me = await api.signUp();
    const acct = await account(me.workspaceId);
    const list = await call(me, 'GET', '/v1/social-accounts');
    expect(list.json().items).toHaveLength(1);
    expect(JSON.stringify(list.json())).not.toMatch(/accessJwt|refreshJwt|credentials/i);
    const post = (
      await call(me, 'POST', '/v1/posts', { content: 'soon', at: inAnHour(), targets: [{ socialAccountId: acct }] })
    ).json();
    const gone = await call(me, 'DELETE', `/v1/social-accounts/${acct}`);
    expect(gone.json()).toEqual({ id: acct, status: 'disconnected', cancelledTargets: 1, revokedAtPlatform: null });
    expect(await jobState(post.targets[0].id)).toBeNull();
    expect((await call(me, 'GET', '/v1/social-accounts')).json().items).toHaveLength(0);
    const scheduling = await call(me, 'POST', '/v1/posts', {
      content: 'x',
      at: inAnHour(),
      targets: [{ socialAccountId: acct }],
    });
    expect(scheduling.statusCode).toBe(409);
    expect(scheduling.json().error.code).toBe('account_unavailable');
  });

  it('usage sums the ledger per day and model', async () => {
    const me = await api.signUp();
    const { recordUsage } = await import('../../core/index.js');
    for (const cost of ['0.001200', '0.000300'])
      await recordUsage(api.env.database.db, me.workspaceId, {
        userId: me.userId,
        taskKind: 'short_draft',
        provider: 'groq',
        local: false,
        model: 'llama-3.3-70b',
        inputTokens: 100,
        outputTokens: 50,
        costUsd: cost,
      });
    const res = await call(
      me,
      'GET',
      `/v1/usage?from=${new Date(Date.now() - 86400_000).toISOString()}&to=${inAnHour()}`,
    );
    expect(res.statusCode).toBe(200);
    expect(res.json().totals).toEqual({ calls: 2, inputTokens: 200, outputTokens: 100, costUsd: '0.001500' });
  });
});
