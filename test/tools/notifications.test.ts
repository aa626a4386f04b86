/**
 * Notifications (tools/notifications): a message is stored once per dedupe key and delivered
 * live to the member's open WebSocket sessions on every API node (two nodes here, through
 * Redis pub/sub) — not to another member's, not to an API key's socket; a deliverer a channel
 * adds gets it too, and one that fails is logged, not thrown; two processes racing over the
 * same key deliver it once; REST lists and marks the caller's own only.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Notifier, type Notification } from '../../tools/notifications/index.js';
import { startAgentEnv, type AgentEnv } from '../agent/agent-env.js';

let env: AgentEnv;
let notifier: Notifier;

beforeAll(async () => {
  env = await startAgentEnv();
  notifier = new Notifier({ db: env.api.env.database.db, events: env.api.env.events });
}, 60_000);
afterAll(async () => {
  await env?.close();
});

describe('notifications', () => {
  it("reach the member's sockets on two API nodes, once, and no one else's", async () => {
    const p = await env.api.signUp();
    const other = await env.api.signUp();
    const second = await env.startAgent();
    const onA = await env.connect(p);
    const onB = await env.connect(p, second.url);
    const bystander = await env.connect(other);
    const key = await env.api.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: p.auth,
      payload: { name: 'k', scopes: ['read'] },
    });
    const keySocket = await env.connect({ auth: { authorization: `Bearer ${key.json().secret as string}` } } as never);

    const dedupeKey = `test.${randomUUID()}`;
    const input = {
      workspaceId: p.workspaceId,
      userId: p.userId,
      kind: 'test.hello',
      text: 'Hello there',
      data: { n: 1 },
      dedupeKey,
    };
    const [first, again] = await Promise.all([notifier.send(input), notifier.send(input)]);
    expect([first.duplicate, again.duplicate].sort()).toEqual([false, true]);
    expect([...first.deliveredBy, ...again.deliveredBy]).toEqual(['websocket']);
    for (const c of [onA, onB]) {
      const frame = await c.next('notification', (e) => e.type === 'notification');
      expect(frame).toMatchObject({
        kind: 'test.hello',
        text: 'Hello there',
        data: { n: 1 },
        notificationId: first.notification.id,
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const c of [onA, onB]) expect(c.events.filter((e) => e.type === 'notification')).toHaveLength(1);
    expect(bystander.events.filter((e) => e.type === 'notification')).toEqual([]);
    expect(keySocket.events.filter((e) => e.type === 'notification')).toEqual([]);

    const list = await env.api.app.inject({ method: 'GET', url: '/v1/notifications', headers: p.auth });
    expect(list.json().items).toHaveLength(1);
    expect(
      (await env.api.app.inject({ method: 'GET', url: '/v1/notifications', headers: other.auth })).json().items,
    ).toEqual([]);
    const id = first.notification.id;
    const foreign = await env.api.app.inject({
      method: 'POST',
      url: `/v1/notifications/${id}/read`,
      headers: other.auth,
    });
    expect(foreign.statusCode).toBe(404);
    const read = await env.api.app.inject({ method: 'POST', url: `/v1/notifications/${id}/read`, headers: p.auth });
    expect(read.json().readAt).not.toBeNull();
    const unread = await env.api.app.inject({ method: 'GET', url: '/v1/notifications?unread=true', headers: p.auth });
    expect(unread.json().items).toEqual([]);
    for (const c of [onA, onB, bystander, keySocket]) c.close();
    await second.close();
  }, 60_000);

  it('a deliverer a channel adds gets each message; one that fails is logged, not thrown', async () => {
    const p = await env.api.signUp();
    const got: Notification[] = [];
    const warnings: unknown[] = [];
    const local = new Notifier({
      db: env.api.env.database.db,
      events: env.api.env.events,
      logger: { warn: (o: unknown) => warnings.push(o) } as never,
    });
    const remove = local.addDeliverer({ name: 'chat', deliver: async (n) => void got.push(n) });
    local.addDeliverer({
      name: 'broken',
      deliver: async () => {
        throw new Error('platform down');
      },
    });
    expect(local.deliverers).toEqual(['websocket', 'chat', 'broken']);
    const out = await local.send({ workspaceId: p.workspaceId, userId: p.userId, kind: 'test.x', text: 'Hi' });
    expect(out.deliveredBy.sort()).toEqual(['chat', 'websocket']);
    expect(got.map((n) => n.text)).toEqual(['Hi']);
    expect(warnings).toHaveLength(1);
    remove();
    await local.send({ workspaceId: p.workspaceId, userId: p.userId, kind: 'test.x', text: 'Again' });
    expect(got).toHaveLength(1);
  });
});
