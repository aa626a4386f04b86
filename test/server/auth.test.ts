import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiEnv, TEST_PASSWORD, type ApiEnv } from '../helpers/api-env.js';

let api: ApiEnv;
beforeAll(async () => {
  api = await startApiEnv();
});
afterAll(async () => {
  await api?.close();
});

describe('auth', () => {
  it('signs up, logs in, and reads its own workspace as owner', async () => {
    const p = await api.signUp({ timeZone: 'Europe/Paris' });
    const me = await api.app.inject({ method: 'GET', url: '/v1/workspace', headers: p.auth });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: p.workspaceId, role: 'owner', timeZone: 'Europe/Paris' });
    const login = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: p.email.toUpperCase(), password: TEST_PASSWORD },
    });
    expect(login.statusCode).toBe(200);
    expect(login.json().workspaceId).toBe(p.workspaceId);
  });

  it('a wrong password and an unknown email get the same answer', async () => {
    const p = await api.signUp();
    const wrong = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: p.email, password: 'nope-nope-nope' },
    });
    const unknown = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'nobody@example.com', password: 'nope-nope-nope' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json().error.code).toBe('invalid_credentials');
  });

  it('rotates refresh tokens; reusing one revokes the whole session, including its access tokens', async () => {
    const p = await api.signUp();
    const first = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refreshToken: p.refreshToken },
    });
    expect(first.statusCode).toBe(200);
    const rotated = first.json();
    expect(rotated.refreshToken).not.toBe(p.refreshToken);
    const reuse = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refreshToken: p.refreshToken },
    });
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json().error.code).toBe('refresh_reused');
    // The successor is dead too, and so is every access token of the session.
    const successor = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refreshToken: rotated.refreshToken },
    });
    expect(successor.statusCode).toBe(401);
    const withAccess = await api.app.inject({
      method: 'GET',
      url: '/v1/workspace',
      headers: { authorization: `Bearer ${rotated.accessToken}` },
    });
    expect(withAccess.statusCode).toBe(401);
  });

  it('logout ends the session at once', async () => {
    const p = await api.signUp();
    expect((await api.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: p.auth })).statusCode).toBe(204);
    const after = await api.app.inject({ method: 'GET', url: '/v1/workspace', headers: p.auth });
    expect(after.statusCode).toBe(401);
    const refresh = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refreshToken: p.refreshToken },
    });
    expect(refresh.statusCode).toBe(401);
  });

  it('rejects tampered, malformed and missing tokens with 401 and no detail', async () => {
    const p = await api.signUp();
    const [h, b, s] = p.accessToken.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(b, 'base64url').toString());
    payload.ws = '00000000-0000-4000-8000-000000000000';
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    for (const authorization of [
      `Bearer ${forged}`,
      'Bearer x.y.z',
      'Basic abc',
      `Bearer ${p.accessToken.slice(0, -2)}`,
    ]) {
      const res = await api.app.inject({ method: 'GET', url: '/v1/workspace', headers: { authorization } });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('unauthorized');
    }
    expect((await api.app.inject({ method: 'GET', url: '/v1/workspace' })).statusCode).toBe(401);
  });

  it('an expired access token says so, and refreshing recovers', async () => {
    const short = await startApiEnv({ accessTokenTtlS: 1 });
    try {
      const p = await short.signUp();
      await new Promise((r) => setTimeout(r, 2100));
      const res = await short.app.inject({ method: 'GET', url: '/v1/workspace', headers: p.auth });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('token_expired');
      const r = await short.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refreshToken: p.refreshToken },
      });
      expect(r.statusCode).toBe(200);
    } finally {
      await short.close();
    }
  });

  it('API keys: shown once, act with their scope, and stop working the moment they are revoked', async () => {
    const p = await api.signUp();
    const created = await api.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: p.auth,
      payload: { name: 'ci', scopes: ['read'] },
    });
    expect(created.statusCode).toBe(201);
    const { key, secret } = created.json();
    expect(secret).toMatch(/^hk_/);
    const list = await api.app.inject({ method: 'GET', url: '/v1/api-keys', headers: p.auth });
    expect(JSON.stringify(list.json())).not.toContain(secret);
    const read = await api.app.inject({ method: 'GET', url: '/v1/workspace', headers: { 'x-api-key': secret } });
    expect(read.statusCode).toBe(200);
    expect(read.json().role).toBe('viewer');
    const write = await api.app.inject({
      method: 'PATCH',
      url: '/v1/workspace',
      headers: { authorization: `Bearer ${secret}` },
      payload: { name: 'renamed' },
    });
    expect(write.statusCode).toBe(403);
    expect(
      (await api.app.inject({ method: 'DELETE', url: `/v1/api-keys/${key.id}`, headers: p.auth })).statusCode,
    ).toBe(204);
    const after = await api.app.inject({ method: 'GET', url: '/v1/workspace', headers: { 'x-api-key': secret } });
    expect(after.statusCode).toBe(401);
  });

  it('invitations: an invited person joins with the role given; a viewer cannot write', async () => {
    const owner = await api.signUp();
    const inv = await api.app.inject({
      method: 'POST',
      url: '/v1/invitations',
      headers: owner.auth,
      payload: { email: 'viewer@example.com', role: 'viewer' },
    });
    expect(inv.statusCode).toBe(201);
    const viewer = await api.signUp({ invitationToken: inv.json().token });
    expect(viewer.workspaceId).toBe(owner.workspaceId);
    const members = await api.app.inject({ method: 'GET', url: '/v1/members', headers: viewer.auth });
    expect(
      members
        .json()
        .items.map((m: { role: string }) => m.role)
        .sort(),
    ).toEqual(['owner', 'viewer']);
    const denied = await api.app.inject({
      method: 'POST',
      url: '/v1/invitations',
      headers: viewer.auth,
      payload: { email: 'x@example.com', role: 'admin' },
    });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error).toMatchObject({ code: 'forbidden', details: { required: 'admin' } });
    // Used once; a second sign-up with the same token is refused.
    await expect(api.signUp({ invitationToken: inv.json().token })).rejects.toThrow(/401/);
  });

  it('sessions leave an audit trail: login, logout and a detected refresh-token reuse', async () => {
    const p = await api.signUp();
    const login = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: p.email, password: TEST_PASSWORD },
    });
    const second = login.json();
    await api.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: p.refreshToken } });
    await api.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: p.refreshToken } });
    await api.app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      headers: { authorization: `Bearer ${second.accessToken}` },
    });
    const third = (
      await api.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: p.email, password: TEST_PASSWORD },
      })
    ).json();
    const audit = await api.app.inject({
      method: 'GET',
      url: '/v1/audit',
      headers: { authorization: `Bearer ${third.accessToken}` },
    });
    const actions = audit
      .json()
      .items.map((e: { action: string }) => e.action)
      .reverse();
    expect(actions).toEqual([
      'workspace.create',
      'session.login',
      'session.revoke_reuse',
      'session.logout',
      'session.login',
    ]);
    expect(JSON.stringify(audit.json())).not.toContain(p.refreshToken);
  });
});
