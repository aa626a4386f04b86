/**
 * An invitation is bound to the address it was sent to: someone else holding the token cannot
 * join with it — signing up (no account is left behind) or signed in — unless the inviter
 * chose a bearer link (`bearer: true`), which anyone holding the token may use once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findUserByEmail } from '../../core/index.js';
import { startApiEnv, TEST_PASSWORD, type ApiEnv, type Person } from '../helpers/api-env.js';

let api: ApiEnv;
let owner: Person;

beforeAll(async () => {
  api = await startApiEnv();
  owner = await api.signUp();
});
afterAll(() => api?.close());

async function invite(email: string, bearer?: boolean): Promise<string> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/invitations',
    headers: owner.auth,
    payload: { email, role: 'editor', ...(bearer === undefined ? {} : { bearer }) },
  });
  expect(res.statusCode, res.body).toBe(201);
  expect(res.json().invitation.bearer).toBe(bearer ?? false);
  return res.json().token as string;
}

const signUp = (email: string, invitationToken: string) =>
  api.app.inject({
    method: 'POST',
    url: '/v1/auth/signup',
    payload: { email, password: TEST_PASSWORD, invitationToken },
  });

describe('invitations', () => {
  it('another address holding the token cannot sign up with it, and no account is left behind', async () => {
    const invited = `${crypto.randomUUID()}@example.com`;
    const token = await invite(invited);
    const intruder = `${crypto.randomUUID()}@example.com`;
    const refused = await signUp(intruder, token);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('forbidden');
    expect(await findUserByEmail(api.deps.db, intruder)).toBeUndefined();
    // The invited address, in any case, still can.
    const joined = await signUp(invited.toUpperCase(), token);
    expect(joined.statusCode, joined.body).toBe(201);
    expect(joined.json().workspaceId).toBe(owner.workspaceId);
  });

  it('a signed-in user cannot accept an invitation sent to someone else', async () => {
    const token = await invite(`${crypto.randomUUID()}@example.com`);
    const other = await api.signUp();
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/invitations/accept',
      headers: other.auth,
      payload: { token },
    });
    expect(res.statusCode).toBe(403);
    const members = await api.app.inject({ method: 'GET', url: '/v1/members', headers: owner.auth });
    expect(members.json().items.map((m: { userId: string }) => m.userId)).not.toContain(other.userId);
  });

  it('a bearer link, the inviter’s choice, can be used once by whoever holds it', async () => {
    const token = await invite(`${crypto.randomUUID()}@example.com`, true);
    const other = await api.signUp();
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/invitations/accept',
      headers: other.auth,
      payload: { token },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ workspaceId: owner.workspaceId, role: 'editor' });
    const again = await signUp(`${crypto.randomUUID()}@example.com`, token);
    expect(again.statusCode).toBe(401);
  });
});
