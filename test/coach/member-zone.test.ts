/**
 * The coach's and the weekly report's jobs read a member's zone as every channel does: their
 * own, or the workspace's while theirs is still the UTC default. A member who never set a zone
 * in an America/New_York workspace gets the morning message at 08:30 New York time, not 03:30.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberContext } from '../../coach/index.js';
import { addMember, createUser, createWorkspace, upsertSocialAccount } from '../../core/index.js';
import { reportRecipients } from '../../tools/analytics/index.js';
import { startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';

let env: PublishingEnv;
beforeAll(async () => {
  env = await startPublishingEnv({ connectors: [] });
}, 60_000);
afterAll(async () => {
  await env?.close();
});

describe("a member's zone in scheduled jobs", () => {
  it("falls back to the workspace's zone while the member's is UTC, and is the member's own otherwise", async () => {
    const db = env.database.db;
    const ws = await createWorkspace(db, {
      name: 'NY',
      slug: `ny-${randomUUID().slice(0, 12)}`,
      timeZone: 'America/New_York',
    });
    const unset = await createUser(db, { email: `${randomUUID()}@example.com`, timeZone: 'UTC' });
    const own = await createUser(db, { email: `${randomUUID()}@example.com`, timeZone: 'Asia/Tokyo' });
    await addMember(db, ws.id, unset.id, 'owner');
    await addMember(db, ws.id, own.id, 'editor');
    await upsertSocialAccount(db, env.cipher, ws.id, {
      platform: 'mastodon',
      externalId: randomUUID(),
      handle: 'ny',
      credentials: { accessToken: 'x' },
    });
    const deps = { db } as Parameters<typeof memberContext>[0];
    expect((await memberContext(deps, ws.id, unset.id))?.timeZone).toBe('America/New_York');
    expect((await memberContext(deps, ws.id, own.id))?.timeZone).toBe('Asia/Tokyo');
    const recipients = (await reportRecipients(db)).filter((r) => r.workspaceId === ws.id);
    expect(Object.fromEntries(recipients.map((r) => [r.userId, r.timeZone]))).toEqual({
      [unset.id]: 'America/New_York',
      [own.id]: 'Asia/Tokyo',
    });
  });
});
