/**
 * Dynamic client registration keeps no garbage: registering a client forgets registrations
 * older than a day that no user ever consented to, and keeps a client with a grant (revoked
 * or not) and any recent registration. On PGlite, through the store the `/oauth/register`
 * route calls.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, createUser, createWorkspace, schema, type Db } from '../../core/index.js';
import {
  createGrant,
  findClient,
  insertClient,
  revokeGrant,
  UNUSED_CLIENT_TTL_MS,
} from '../../server/auth/oauth/store.js';
import { openPgliteForTest } from '../helpers/databases.js';

let scratch: Awaited<ReturnType<typeof openPgliteForTest>>;
let db: Db;
beforeAll(async () => {
  scratch = await openPgliteForTest();
  db = scratch.database.db;
}, 60_000);
afterAll(async () => scratch?.dispose());

async function registeredAt(at: Date, name: string) {
  const client = await insertClient(db, { clientName: name, redirectUris: ['http://127.0.0.1:9/cb'] }, at);
  await db.update(schema.oauthClients).set({ createdAt: at }).where(eq(schema.oauthClients.id, client.id));
  return client;
}

describe('OAuth client registrations', () => {
  it('a registration no one consented to within a day is forgotten at the next registration; used and recent ones stay', async () => {
    const now = new Date();
    const old = new Date(now.getTime() - UNUSED_CLIENT_TTL_MS - 60_000);
    const unused = await registeredAt(old, 'never used');
    const consented = await registeredAt(old, 'consented');
    const revoked = await registeredAt(old, 'consented, then revoked');
    const recent = await registeredAt(new Date(now.getTime() - UNUSED_CLIENT_TTL_MS + 60_000), 'recent');

    const ws = await createWorkspace(db, { name: 'W', slug: `w-${Date.now()}` });
    const user = await createUser(db, { email: `u-${Date.now()}@example.com` });
    const session = await createSession(db, user.id, null);
    const grant = (clientId: string) =>
      createGrant(
        db,
        {
          workspaceId: ws.id,
          clientId,
          userId: user.id,
          sessionId: session.id,
          scopes: ['read'],
          resource: 'http://h/mcp',
        },
        { accessS: 60, refreshS: 600 },
        now,
      );
    await grant(consented.id);
    const { grantId } = await grant(revoked.id);
    await revokeGrant(db, ws.id, grantId, 'test', now);

    expect(await findClient(db, unused.clientId)).toBeDefined();
    const next = await insertClient(db, { clientName: 'next', redirectUris: ['http://127.0.0.1:9/cb'] }, now);
    expect(await findClient(db, unused.clientId)).toBeUndefined();
    for (const kept of [consented, revoked, recent, next]) expect(await findClient(db, kept.clientId)).toBeDefined();
  });
});
