/**
 * A key never outlives its creator's rights: an API key acts with at most its creator's role
 * in the workspace *now* (demote, re-promote), removing the creator revokes their keys and
 * closes their sockets — user and key — at once (re-adding them does not bring keys back),
 * and no key can remove its own creator ("leaving" is a person's act). REST and WebSocket, on
 * both databases (sockets close on the database's change notification).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { addMember, createSession, createUser } from '../../core/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';
import { openPgliteForTest, openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';

let api: ApiEnv;
let owner: Person;

const databases = [
  { name: 'PGlite', open: openPgliteForTest },
  ...(TEST_DATABASE_URL ? [{ name: 'PostgreSQL', open: () => openPostgresForTest(TEST_DATABASE_URL!) }] : []),
];

/** A member of the owner's workspace with a signed-in session (no sign-up route: it is rate limited). */
async function member(role: 'admin' | 'editor' | 'viewer') {
  const user = await createUser(api.deps.db, { email: `${crypto.randomUUID()}@example.com` });
  await addMember(api.deps.db, owner.workspaceId, user.id, role);
  const session = await createSession(api.deps.db, user.id, 'key-rights.test');
  const token = await api.deps.auth.signer.sign({
    userId: user.id,
    sessionId: session.id,
    workspaceId: owner.workspaceId,
  });
  return { userId: user.id, auth: { authorization: `Bearer ${token}` } };
}

const call = (
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  headers: Record<string, string>,
  payload?: object,
) => api.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

async function keyOf(auth: Record<string, string>, scopes: string[]): Promise<Record<string, string>> {
  const res = await call('POST', '/v1/api-keys', auth, { name: 'bot', scopes });
  expect(res.statusCode, res.body).toBe(201);
  return { 'x-api-key': res.json().secret as string };
}

/** Opens `/v1/ws` with these headers; resolves once `ready` arrived. */
async function socket(headers: Record<string, string>) {
  const ws = new WebSocket(`${api.baseUrl.replace(/^http/, 'ws')}/v1/ws`, ['herald.v1'], { headers });
  const events: Array<{ type: string; error?: { code: string } }> = [];
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('message', (d) => events.push(JSON.parse(String(d))));
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.on('message', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  return { ws, events, closed };
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)),
  ]);

describe.each(databases)('API keys and their creator on $name', ({ open }) => {
  let dispose: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const db = await open();
    dispose = db.dispose;
    api = await startApiEnv({ database: db.database });
    owner = await api.signUp();
  });
  afterAll(async () => {
    await api?.close();
    await dispose?.();
  });

  it('a key acts with at most its creator’s current role: demoted, it loses admin rights; re-promoted, it has them again', async () => {
    const admin = await member('admin');
    const key = await keyOf(admin.auth, ['admin']);
    const invite = () =>
      call('POST', '/v1/invitations', key, { email: `${crypto.randomUUID()}@example.com`, role: 'admin' });
    expect((await invite()).statusCode).toBe(201);

    expect((await call('PATCH', `/v1/members/${admin.userId}`, owner.auth, { role: 'viewer' })).statusCode).toBe(200);
    const refused = await invite();
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toMatchObject({ code: 'forbidden', details: { role: 'viewer' } });
    expect((await call('POST', '/v1/api-keys', key, { name: 'more', scopes: ['admin'] })).statusCode).toBe(403);
    expect((await call('GET', '/v1/workspace', key)).json().role).toBe('viewer');

    expect((await call('PATCH', `/v1/members/${admin.userId}`, owner.auth, { role: 'admin' })).statusCode).toBe(200);
    expect((await invite()).statusCode).toBe(201);
  });

  it('removing the creator revokes their keys and closes their sockets at once; re-adding them does not revive the keys', async () => {
    const admin = await member('admin');
    const key = await keyOf(admin.auth, ['admin']);
    const keySocket = await socket(key);
    const userSocket = await socket(admin.auth);
    expect(keySocket.events[0]?.type).toBe('ready');

    expect((await call('DELETE', `/v1/members/${admin.userId}`, owner.auth)).statusCode).toBeLessThan(300);
    // Nothing is sent on either socket: the removal alone closes them.
    expect(await within(keySocket.closed, 5_000, 'close of the key’s socket')).toBe(4001);
    expect(await within(userSocket.closed, 5_000, 'close of the user’s socket')).toBe(4001);
    expect(keySocket.events.some((e) => e.error?.code === 'unauthorized')).toBe(true);

    for (const [method, url] of [
      ['GET', '/v1/members'],
      ['POST', '/v1/api-keys'],
    ] as const) {
      const res = await call(method, url, key, method === 'POST' ? { name: 'x', scopes: ['admin'] } : undefined);
      expect(res.statusCode, `${method} ${url}`).toBe(401);
    }
    const keys = (await call('GET', '/v1/api-keys', owner.auth)).json().items as Array<{
      createdBy: string;
      revokedAt: string | null;
    }>;
    expect(keys.filter((k) => k.createdBy === admin.userId).every((k) => k.revokedAt !== null)).toBe(true);

    await addMember(api.deps.db, owner.workspaceId, admin.userId, 'admin');
    expect((await call('GET', '/v1/members', key)).statusCode).toBe(401);
    expect((await call('GET', '/v1/members', admin.auth)).statusCode).toBe(200);
  });

  it('a key cannot remove its own creator, whatever its scope; the creator can still leave', async () => {
    const editor = await member('admin');
    const readKey = await keyOf(owner.auth, ['read']);
    const own = await keyOf(editor.auth, ['read']);
    const leave = await call('DELETE', `/v1/members/${editor.userId}`, own);
    expect(leave.statusCode).toBe(403);
    expect((await call('GET', '/v1/members', editor.auth)).statusCode).toBe(200);
    // Nor can the owner's read key remove the owner.
    expect((await call('DELETE', `/v1/members/${owner.userId}`, readKey)).statusCode).toBe(403);
    expect((await call('DELETE', `/v1/members/${editor.userId}`, editor.auth)).statusCode).toBeLessThan(300);
    expect((await call('GET', '/v1/members', editor.auth)).statusCode).toBe(401);
  });
});
