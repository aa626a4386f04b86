/**
 * Posting slots, queueing a draft, recurring series and CSV import over REST against the real
 * API (PGlite, Redis, the real Bluesky connector for validation; no worker runs, so nothing
 * publishes): each route in the OpenAPI document, its answers, and bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { createBlueskyConnector } from '../../connectors/bluesky/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';

let api: ApiEnv;
let n = 0;

beforeAll(async () => {
  api = await startApiEnv({ connectors: [createBlueskyConnector({ timeoutMs: 1_000 })] });
});
afterAll(() => api?.close());

async function account(workspaceId: string): Promise<{ id: string; handle: string }> {
  const handle = `sched${++n}.test`;
  const id = await api.env.addAccount(workspaceId, {
    platform: 'bluesky',
    externalId: `did:plc:sched${n}x${Date.now()}`,
    handle,
    credentials: { service: 'http://127.0.0.1:9', did: `did:plc:sched${n}`, handle, accessJwt: 'a', refreshJwt: 'r' },
  });
  return { id, handle };
}

function call(p: Person, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) {
  return api.app.inject({
    method: method as 'GET',
    url,
    headers: { ...p.auth, ...headers },
    ...(payload === undefined ? {} : { payload: payload as string }),
  });
}

const csvHeaders = { 'content-type': 'text/csv' };

describe('slots, queue, series and CSV import over REST', () => {
  it('are in the OpenAPI document', () => {
    const doc = api.app.swagger() as { paths: Record<string, Record<string, unknown>> };
    for (const [path, method] of [
      ['/v1/social-accounts/{id}/slots', 'get'],
      ['/v1/social-accounts/{id}/slots', 'put'],
      ['/v1/posts/{id}/queue', 'post'],
      ['/v1/series', 'post'],
      ['/v1/series', 'get'],
      ['/v1/series/{id}', 'get'],
      ['/v1/series/{id}', 'patch'],
      ['/v1/series/{id}/pause', 'post'],
      ['/v1/series/{id}/resume', 'post'],
      ['/v1/series/{id}/stop', 'post'],
      ['/v1/imports/csv', 'post'],
    ] as const)
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
  });

  it('slots: replaced and read in their zone; a draft is queued into the next free one', async () => {
    const me = await api.signUp({ timeZone: 'Europe/Paris' });
    const acct = await account(me.workspaceId);
    expect((await call(me, 'GET', `/v1/social-accounts/${acct.id}/slots`)).json()).toEqual({ items: [] });
    const put = await call(me, 'PUT', `/v1/social-accounts/${acct.id}/slots`, {
      timeZone: 'America/New_York',
      slots: [
        { weekday: 3, time: '17:30' },
        { weekday: 1, time: '09:00' },
      ],
    });
    expect(put.statusCode).toBe(200);
    expect(
      put.json().items.map((s: { weekday: number; time: string; timeZone: string }) => [s.weekday, s.time, s.timeZone]),
    ).toEqual([
      [1, '09:00', 'America/New_York'],
      [3, '17:30', 'America/New_York'],
    ]);
    const bad = await call(me, 'PUT', `/v1/social-accounts/${acct.id}/slots`, { slots: [{ weekday: 8, time: '9am' }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('validation_failed');

    const draft = (
      await call(me, 'POST', '/v1/posts', { content: 'queued', draft: true, targets: [{ socialAccountId: acct.id }] })
    ).json();
    const queued = await call(me, 'POST', `/v1/posts/${draft.id}/queue`);
    expect(queued.statusCode).toBe(200);
    const at = DateTime.fromISO(queued.json().targets[0].scheduledAt, { zone: 'America/New_York' });
    expect([
      [1, '09:00'],
      [3, '17:30'],
    ]).toContainEqual([at.weekday, at.toFormat('HH:mm')]);
    expect(queued.json().targets[0].status).toBe('scheduled');
    const again = await call(me, 'POST', `/v1/posts/${draft.id}/queue`);
    expect([again.statusCode, again.json().error.code]).toEqual([409, 'invalid_state']);
  });

  it('series: create with an RFC 5545 rule, list, edit the next occurrences, pause, resume, stop', async () => {
    const me = await api.signUp({ timeZone: 'Europe/Paris' });
    const acct = await account(me.workspaceId);
    const start = DateTime.now().setZone('Europe/Paris').plus({ days: 1 }).toFormat("yyyy-MM-dd'T'09:00");
    const created = await call(me, 'POST', '/v1/series', {
      rrule: 'RRULE:FREQ=DAILY;COUNT=4',
      start,
      content: 'tip of the day',
      targets: [{ socialAccountId: acct.id }],
    });
    expect(created.statusCode).toBe(201);
    const series = created.json();
    expect(series).toMatchObject({
      status: 'active',
      rrule: 'FREQ=DAILY;COUNT=4',
      timeZone: 'Europe/Paris',
      created: 4,
    });
    expect(series.next).toHaveLength(4);
    expect(series.next[0]).toMatch(/T09:00:00\.000\+01:00$/);
    expect((await call(me, 'GET', '/v1/series')).json().items.map((s: { id: string }) => s.id)).toEqual([series.id]);

    const edited = await call(me, 'PATCH', `/v1/series/${series.id}`, { content: 'better tip' });
    expect(edited.json()).toMatchObject({ replaced: 4, created: 4, content: 'better tip' });
    const cal = await call(
      me,
      'GET',
      `/v1/calendar?from=${encodeURIComponent(new Date().toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 10 * 86_400_000).toISOString())}&status=scheduled`,
    );
    expect(cal.json().items.map((t: { content: string }) => t.content)).toEqual(Array(4).fill('better tip'));

    expect((await call(me, 'POST', `/v1/series/${series.id}/pause`)).json()).toMatchObject({
      status: 'paused',
      removed: 4,
    });
    expect((await call(me, 'POST', `/v1/series/${series.id}/pause`)).statusCode).toBe(409);
    expect((await call(me, 'POST', `/v1/series/${series.id}/resume`)).json()).toMatchObject({
      status: 'active',
      created: 4,
    });
    expect((await call(me, 'POST', `/v1/series/${series.id}/stop`)).json()).toMatchObject({ status: 'stopped' });
    expect((await call(me, 'GET', `/v1/series/${series.id}`)).json()).toMatchObject({ status: 'stopped', next: [] });

    for (const [body, code] of [
      [{ rrule: 'FREQ=OFTEN', start, content: 'x', targets: [{ socialAccountId: acct.id }] }, 'validation_failed'],
      [
        { rrule: 'FREQ=DAILY', start: 'tomorrow', content: 'x', targets: [{ socialAccountId: acct.id }] },
        'invalid_time',
      ],
      [
        { rrule: 'FREQ=DAILY', start, content: 'x'.repeat(400), targets: [{ socialAccountId: acct.id }] },
        'target_invalid',
      ],
      [{ rrule: 'FREQ=DAILY', start, content: 'x', targets: [] }, 'validation_failed'],
    ] as const) {
      const res = await call(me, 'POST', '/v1/series', body);
      expect([res.statusCode >= 400 && res.statusCode < 500, res.json().error.code], JSON.stringify(body)).toEqual([
        true,
        code,
      ]);
    }
    const empty = await call(me, 'PATCH', `/v1/series/${series.id}`, {});
    expect(empty.statusCode).toBe(400);
  });

  it('CSV import: a dry run names every problem by row and column; importing the same file twice imports it once', async () => {
    const me = await api.signUp({ timeZone: 'Europe/Paris' });
    const acct = await account(me.workspaceId);
    const day = DateTime.now().setZone('Europe/Paris').plus({ days: 2 }).toFormat('yyyy-MM-dd');
    const csv = [
      'account,text,scheduled_at',
      `${acct.handle},From a spreadsheet,${day} 10:00`,
      `nobody,${'x'.repeat(301)},yesterday`,
    ].join('\n');
    const dry = await call(me, 'POST', '/v1/imports/csv?dryRun=true', csv, csvHeaders);
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toMatchObject({
      dryRun: true,
      rows: 2,
      imported: [],
      ready: [{ row: 2, socialAccountId: acct.id }],
      rejected: [
        {
          row: 3,
          problems: [
            { column: 'account', message: expect.stringContaining('nobody') },
            { column: 'scheduled_at', message: expect.stringContaining('yesterday') },
          ],
        },
      ],
    });
    const first = await call(me, 'POST', '/v1/imports/csv', csv, csvHeaders);
    expect(first.json().imported.map((r: { row: number }) => r.row)).toEqual([2]);
    const second = await call(me, 'POST', '/v1/imports/csv', csv, csvHeaders);
    expect(second.json()).toMatchObject({
      imported: [],
      duplicates: [{ row: 2, postId: first.json().imported[0].postId }],
    });

    const asJson = await call(me, 'POST', '/v1/imports/csv', { csv }, {});
    expect(asJson.statusCode).toBe(415);
    const broken = await call(me, 'POST', '/v1/imports/csv', 'account,text\nx,y', csvHeaders);
    expect([broken.statusCode, broken.json().error.code]).toEqual([400, 'csv_invalid']);
    const huge = await call(
      me,
      'POST',
      '/v1/imports/csv',
      `account,text,scheduled_at\n${'a'.repeat(3 * 1024 * 1024)}`,
      csvHeaders,
    );
    expect(huge.statusCode).toBe(413);
  });
});
