import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createUser,
  PASSWORD,
  type SignedUp,
  signupOrg,
  startTestApp,
  type TestApp,
  uniqueEmail,
} from '../support/harness.js';

let t: TestApp;
let org: SignedUp;

beforeAll(async () => {
  t = await startTestApp();
  org = await signupOrg(t.app);
});
afterAll(async () => t?.close());

const call = (method: string, url: string, headers: Record<string, string>, payload?: unknown) =>
  t.app.inject({
    method: method as 'GET',
    url,
    headers,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

describe('admin: users and teams', () => {
  it('creates a team and a user in it; the user signs in with the initial password and sees the team', async () => {
    const team = await call('POST', '/api/v1/admin/teams', org.auth, {
      name: 'Service Desk',
      description: 'First line',
    });
    expect(team.statusCode).toBe(201);
    const email = uniqueEmail('agent');
    const created = await call('POST', '/api/v1/admin/users', org.auth, {
      email,
      name: 'Alex Agent',
      role: 'agent',
      password: PASSWORD,
      teamIds: [team.json().id],
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ email, role: 'agent', isActive: true, teamIds: [team.json().id] });
    expect(created.json()).not.toHaveProperty('passwordHash');

    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: PASSWORD },
    });
    const me = await call('GET', '/api/v1/me', { authorization: `Bearer ${login.json().accessToken}` });
    expect(me.json()).toMatchObject({ role: 'agent', teams: [{ id: team.json().id, name: 'Service Desk' }] });
    expect(me.json().permissions).toContain('ticket:view_team');
    expect(me.json().permissions).not.toContain('ticket:reassign');

    const detail = await call('GET', `/api/v1/admin/teams/${team.json().id}`, org.auth);
    expect(detail.json().members).toEqual([expect.objectContaining({ email, role: 'agent' })]);
  });

  it('lists users with filters, paging meta and links', async () => {
    for (let i = 0; i < 3; i += 1) await createUser(t.app, org, 'requester');
    const page = await call('GET', '/api/v1/admin/users?role=requester&limit=2&page=1', org.auth);
    expect(page.statusCode).toBe(200);
    const body = page.json();
    expect(body.data).toHaveLength(2);
    expect(body.meta).toEqual({ page: 1, limit: 2, total: 3, totalPages: 2 });
    expect(body.links.next).toBe('/api/v1/admin/users?role=requester&limit=2&page=2');
    expect(body.links.prev).toBeNull();
    const second = await call('GET', body.links.next, org.auth);
    expect(second.json().data).toHaveLength(1);
  });

  it('changes a role: old tokens stop working, a new sign-in carries the new role', async () => {
    const user = await createUser(t.app, org, 'agent');
    const patched = await call('PATCH', `/api/v1/admin/users/${user.id}`, org.auth, { role: 'team_lead' });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().role).toBe('team_lead');
    expect((await call('GET', '/api/v1/me', user.auth)).statusCode).toBe(401);
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: PASSWORD },
    });
    const me = await call('GET', '/api/v1/me', { authorization: `Bearer ${login.json().accessToken}` });
    expect(me.json().role).toBe('team_lead');
    expect(me.json().permissions).toContain('ticket:reassign');
  });

  it('answers /me alike for a session and an API token of the same user, with the token scoped', async () => {
    const user = await createUser(t.app, org, 'agent');
    const pat = await call('POST', '/api/v1/me/api-tokens', user.auth, {
      name: 'reports',
      scopes: ['ticket:view_team'],
    });
    const patAuth = { authorization: `Bearer ${pat.json().token}` };
    // Twice each: the first call loads the profile, the second is served from what is cached.
    for (let round = 0; round < 2; round++) {
      const session = (await call('GET', '/api/v1/me', user.auth)).json();
      const token = (await call('GET', '/api/v1/me', patAuth)).json();
      expect(session).toMatchObject({ authenticatedWith: 'session', role: 'agent' });
      expect(session.permissions).toContain('ticket:reply');
      expect(token).toEqual({
        ...session,
        permissions: ['ticket:view_team'],
        authenticatedWith: 'api_token',
      });
    }
  });

  it('deactivates a user: sign-in, sessions and API tokens stop; reactivation lets them sign in again', async () => {
    const user = await createUser(t.app, org, 'agent');
    const pat = await call('POST', '/api/v1/me/api-tokens', user.auth, {
      name: 'ci',
      scopes: ['ticket:view_team'],
    });
    expect(pat.statusCode).toBe(201);
    const patAuth = { authorization: `Bearer ${pat.json().token}` };
    expect((await call('GET', '/api/v1/me', patAuth)).statusCode).toBe(200);

    const off = await call('POST', `/api/v1/admin/users/${user.id}/deactivate`, org.auth);
    expect(off.statusCode).toBe(200);
    expect(off.json()).toMatchObject({ isActive: false });
    expect((await call('GET', '/api/v1/me', user.auth)).statusCode).toBe(401);
    expect((await call('GET', '/api/v1/me', patAuth)).statusCode).toBe(401);
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: PASSWORD },
    });
    expect(login.statusCode).toBe(401);
    const refresh = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: user.refreshToken },
    });
    expect(refresh.statusCode).toBe(401);

    expect((await call('POST', `/api/v1/admin/users/${user.id}/reactivate`, org.auth)).json().isActive).toBe(
      true,
    );
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: PASSWORD },
    });
    expect(again.statusCode).toBe(200);
  });

  it('keeps at least one admin and refuses self-deactivation', async () => {
    const self = await call('POST', `/api/v1/admin/users/${org.adminId}/deactivate`, org.auth);
    expect(self.statusCode).toBe(422);
    const demote = await call('PATCH', `/api/v1/admin/users/${org.adminId}`, org.auth, { role: 'agent' });
    expect(demote.statusCode).toBe(422);
    expect(demote.json().code).toBe('LAST_ADMIN');
  });

  it('refuses duplicates: e-mail per organisation, team name case-insensitively', async () => {
    const user = await createUser(t.app, org, 'agent');
    const dup = await call('POST', '/api/v1/admin/users', org.auth, {
      email: user.email.toUpperCase(),
      name: 'Dup',
      role: 'agent',
      password: PASSWORD,
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('EMAIL_TAKEN');
    await call('POST', '/api/v1/admin/teams', org.auth, { name: 'Network' });
    const team = await call('POST', '/api/v1/admin/teams', org.auth, { name: 'NETWORK' });
    expect(team.statusCode).toBe(409);
  });

  it('updates team members and soft-deletes a team', async () => {
    const a = await createUser(t.app, org, 'agent');
    const b = await createUser(t.app, org, 'agent');
    const team = await call('POST', '/api/v1/admin/teams', org.auth, { name: 'Infra', memberIds: [a.id] });
    const updated = await call('PATCH', `/api/v1/admin/teams/${team.json().id}`, org.auth, {
      memberIds: [b.id],
    });
    expect(updated.json().members.map((member: { id: string }) => member.id)).toEqual([b.id]);
    expect((await call('DELETE', `/api/v1/admin/teams/${team.json().id}`, org.auth)).statusCode).toBe(204);
    expect((await call('GET', `/api/v1/admin/teams/${team.json().id}`, org.auth)).statusCode).toBe(404);
    const list = await call('GET', '/api/v1/admin/teams', org.auth);
    expect(list.json().data.map((entry: { name: string }) => entry.name)).not.toContain('Infra');
  });

  it("shows a renamed team's new name and new members at once on /me (no stale profile)", async () => {
    const staying = await createUser(t.app, org, 'agent');
    const joining = await createUser(t.app, org, 'agent');
    const team = await call('POST', '/api/v1/admin/teams', org.auth, {
      name: 'Ops',
      memberIds: [staying.id],
    });
    // Fill both users' profile caches and the rendered answers (the second call is served
    // from the rendered JSON) first.
    for (let round = 0; round < 2; round++) {
      const me = await call('GET', '/api/v1/me', staying.auth);
      expect(me.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(me.json().teams).toEqual([{ id: team.json().id, name: 'Ops' }]);
      expect((await call('GET', '/api/v1/me', joining.auth)).json().teams).toEqual([]);
    }
    await call('PATCH', `/api/v1/admin/teams/${team.json().id}`, org.auth, {
      name: 'Operations',
      memberIds: [staying.id, joining.id],
    });
    for (const user of [staying, joining]) {
      expect((await call('GET', '/api/v1/me', user.auth)).json().teams).toEqual([
        { id: team.json().id, name: 'Operations' },
      ]);
    }
  });

  it('forbids the admin API to agents, team leads and requesters', async () => {
    for (const role of ['agent', 'team_lead', 'requester'] as const) {
      const user = await createUser(t.app, org, role);
      for (const url of ['/api/v1/admin/users', '/api/v1/admin/teams', '/api/v1/admin/jobs/dead-letters']) {
        const response = await call('GET', url, user.auth);
        expect(response.statusCode, `${role} ${url}`).toBe(403);
        expect(response.json().code).toBe('FORBIDDEN');
      }
    }
  });
});

describe('personal API tokens', () => {
  it('are scoped, listed without the secret, and revocable', async () => {
    const agent = await createUser(t.app, org, 'agent');
    const created = await call('POST', '/api/v1/me/api-tokens', agent.auth, {
      name: 'reporting',
      scopes: ['kb:read'],
    });
    expect(created.statusCode).toBe(201);
    const { token, id } = created.json();
    expect(token).toMatch(/^sb_pat_/);
    const auth = { authorization: `Bearer ${token}` };
    const me = await call('GET', '/api/v1/me', auth);
    expect(me.json()).toMatchObject({ authenticatedWith: 'api_token', permissions: ['kb:read'] });

    const list = await call('GET', '/api/v1/me/api-tokens', agent.auth);
    expect(list.json().data).toEqual([
      expect.objectContaining({ id, name: 'reporting', scopes: ['kb:read'] }),
    ]);
    expect(JSON.stringify(list.json())).not.toContain(token);

    expect((await call('DELETE', `/api/v1/me/api-tokens/${id}`, agent.auth)).statusCode).toBe(204);
    const after = await call('GET', '/api/v1/me', auth);
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('TOKEN_REVOKED');
  });

  it("cannot hold permissions beyond the owner's role", async () => {
    const agent = await createUser(t.app, org, 'agent');
    const response = await call('POST', '/api/v1/me/api-tokens', agent.auth, {
      name: 'x',
      scopes: ['admin:users'],
    });
    expect(response.statusCode).toBe(403);
  });

  it('an admin token scoped to kb:read cannot use the admin API', async () => {
    const created = await call('POST', '/api/v1/me/api-tokens', org.auth, {
      name: 'narrow',
      scopes: ['kb:read'],
    });
    const response = await call('GET', '/api/v1/admin/users', {
      authorization: `Bearer ${created.json().token}`,
    });
    expect(response.statusCode).toBe(403);
  });
});
