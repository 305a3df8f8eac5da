import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teams, users } from '../../src/server/modules/identity/identity.table.js';
import { createUser, type SignedUp, signupOrg, startTestApp, type TestApp } from '../support/harness.js';

let t: TestApp;
let orgA: SignedUp;
let orgB: SignedUp;
let teamA: string;
let userA: string;

beforeAll(async () => {
  t = await startTestApp();
  orgA = await signupOrg(t.app, 'Alpha Corp');
  orgB = await signupOrg(t.app, 'Beta Corp');
  const team = await t.app.inject({
    method: 'POST',
    url: '/api/v1/admin/teams',
    headers: orgA.auth,
    payload: { name: 'Desk' },
  });
  teamA = team.json().id;
  userA = (await createUser(t.app, orgA, 'agent')).id;
});
afterAll(async () => t?.close());

describe('tenancy', () => {
  it("answers 404 to an admin of org B for every one of org A's resources, and changes nothing", async () => {
    const attempts = [
      { method: 'GET', url: `/api/v1/admin/users/${userA}` },
      { method: 'PATCH', url: `/api/v1/admin/users/${userA}`, payload: { name: 'Hijacked' } },
      { method: 'POST', url: `/api/v1/admin/users/${userA}/deactivate` },
      { method: 'POST', url: `/api/v1/admin/users/${userA}/reactivate` },
      { method: 'GET', url: `/api/v1/admin/teams/${teamA}` },
      { method: 'PATCH', url: `/api/v1/admin/teams/${teamA}`, payload: { name: 'Hijacked' } },
      { method: 'DELETE', url: `/api/v1/admin/teams/${teamA}` },
    ] as const;
    for (const attempt of attempts) {
      const response = await t.app.inject({ ...attempt, headers: orgB.auth });
      expect(response.statusCode, `${attempt.method} ${attempt.url}`).toBe(404);
      expect(response.json()).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
    }
    const user = await t.app.inject({
      method: 'GET',
      url: `/api/v1/admin/users/${userA}`,
      headers: orgA.auth,
    });
    expect(user.json()).toMatchObject({ isActive: true, name: 'Test agent' });
    const team = await t.app.inject({
      method: 'GET',
      url: `/api/v1/admin/teams/${teamA}`,
      headers: orgA.auth,
    });
    expect(team.json().name).toBe('Desk');
  });

  it("cannot put org A's users into org B's teams, nor list them", async () => {
    const team = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/teams',
      headers: orgB.auth,
      payload: { name: 'Steal', memberIds: [userA] },
    });
    expect(team.statusCode).toBe(422);
    const list = await t.app.inject({
      method: 'GET',
      url: '/api/v1/admin/users?limit=100',
      headers: orgB.auth,
    });
    expect(list.json().data.map((user: { id: string }) => user.id)).not.toContain(userA);
    expect(list.json().meta.total).toBe(1);
  });

  it('row-level security hides other tenants even from a query that forgets its org filter', async () => {
    const { database } = t.platform;
    const unscoped = await database.withOrg(orgB.orgId, (tx) => tx.select().from(users));
    expect(unscoped.map((row) => row.orgId)).toEqual([orgB.orgId]);
    const teamRows = await database.withOrg(orgB.orgId, (tx) =>
      tx.select().from(teams).where(eq(teams.id, teamA)),
    );
    expect(teamRows).toEqual([]);
    // Writes are fenced too: an update aimed at org A's row from org B's transaction touches nothing.
    const updated = await database.withOrg(orgB.orgId, (tx) =>
      tx.update(users).set({ name: 'Hijacked' }).where(eq(users.id, userA)).returning(),
    );
    expect(updated).toEqual([]);
    // And an insert claiming org A's id is refused by the policy's WITH CHECK.
    await expect(
      database.withOrg(orgB.orgId, (tx) =>
        tx.insert(teams).values({ orgId: orgA.orgId, name: 'Planted', description: '' }),
      ),
    ).rejects.toThrow();
    const planted = await database.transaction((tx) =>
      tx
        .select()
        .from(teams)
        .where(and(eq(teams.orgId, orgA.orgId), eq(teams.name, 'Planted'))),
    );
    expect(planted).toEqual([]);
  });

  it('a transaction without an organisation sees no tenant rows at all', async () => {
    const rows = await t.platform.database.transaction(async (tx) => {
      await tx.execute(sql`select set_config('role', 'switchboard_app', true)`);
      return tx.select().from(users);
    });
    expect(rows).toEqual([]);
  });
});
