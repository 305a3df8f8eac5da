import { randomBytes } from 'node:crypto';
import type { Database } from '../../platform/db/database.js';
import { recordEvent } from '../../platform/events/events.js';
import { OrganizationCreated, TeamCreated, UserCreated } from './identity.events.js';
import type { Role } from './identity.policy.js';
import * as repo from './identity.repository.js';
import { hashPassword } from './passwords.js';

export const DEMO_ORG_SLUG = 'acme';

const DEMO_USERS: Array<{ key: string; name: string; role: Role; teams: string[] }> = [
  { key: 'admin', name: 'Ada Admin', role: 'admin', teams: [] },
  { key: 'lead', name: 'Lee Lead', role: 'team_lead', teams: ['Service Desk', 'Infrastructure'] },
  { key: 'agent1', name: 'Alex Agent', role: 'agent', teams: ['Service Desk'] },
  { key: 'agent2', name: 'Sam Support', role: 'agent', teams: ['Infrastructure'] },
  { key: 'requester1', name: 'Riley Requester', role: 'requester', teams: [] },
  { key: 'requester2', name: 'Robin User', role: 'requester', teams: [] },
];

const DEMO_TEAMS = [
  { name: 'Service Desk', description: 'First line: every new request lands here' },
  { name: 'Infrastructure', description: 'Servers, network and accounts' },
];

export interface SeedResult {
  created: boolean;
  orgSlug: string;
  adminEmail: string;
  /** Set only when this call created the data: shown once, never stored in clear. */
  password?: string;
  users: Array<{ email: string; role: Role }>;
  /** Set only when this call created the data: what other modules seed their demo data with. */
  demo?: DemoDirectory;
}

/** Ids of the demo organisation's people (by key: admin, lead, agent1, …) and teams (by name). */
export interface DemoDirectory {
  orgId: string;
  users: Record<string, { id: string; role: Role }>;
  teams: Record<string, string>;
}

/** A readable random password: 18 characters from a 62-letter alphabet (≈107 bits). */
export function generatePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = randomBytes(18);
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join('');
}

/**
 * Creates the demo organisation (Acme IT) with an admin, a team lead, two agents, two
 * requesters and two teams — unless it exists. Every demo user gets the same password.
 */
export async function seedDemo(
  database: Database,
  options: { adminEmail?: string | undefined; adminPassword?: string | undefined } = {},
): Promise<SeedResult> {
  const adminEmail = (options.adminEmail ?? `admin@${DEMO_ORG_SLUG}.example`).toLowerCase();
  const emailOf = (key: string) => (key === 'admin' ? adminEmail : `${key}@${DEMO_ORG_SLUG}.example`);
  const users = DEMO_USERS.map((user) => ({ email: emailOf(user.key), role: user.role }));
  const exists = await database.transaction((tx) => repo.slugExists(tx, DEMO_ORG_SLUG));
  if (exists) return { created: false, orgSlug: DEMO_ORG_SLUG, adminEmail, users };

  const password = options.adminPassword ?? generatePassword();
  const passwordHash = await hashPassword(password);
  const demo = await database.transaction(async (tx) => {
    const org = await repo.insertOrganization(tx, { name: 'Acme IT Services', slug: DEMO_ORG_SLUG });
    const teams = new Map<string, string>();
    const ids = new Map<string, string>();
    for (const team of DEMO_TEAMS) {
      const row = await repo.insertTeam(tx, { orgId: org.id, ...team });
      teams.set(team.name, row.id);
    }
    for (const user of DEMO_USERS) {
      const row = await repo.insertUser(tx, {
        orgId: org.id,
        email: emailOf(user.key),
        name: user.name,
        role: user.role,
        passwordHash,
      });
      ids.set(user.key, row.id);
      const teamIds = user.teams.map((name) => teams.get(name)!);
      await repo.addMemberships(
        tx,
        org.id,
        teamIds.map((teamId) => ({ teamId, userId: row.id })),
      );
      await recordEvent(tx, UserCreated, { orgId: org.id }, row.id, {
        email: row.email,
        role: row.role,
        teamIds,
      });
    }
    for (const [name, teamId] of teams) {
      const memberIds = DEMO_USERS.filter((user) => user.teams.includes(name)).map(
        (user) => ids.get(user.key)!,
      );
      await recordEvent(tx, TeamCreated, { orgId: org.id }, teamId, { name, memberIds });
    }
    await recordEvent(tx, OrganizationCreated, { orgId: org.id }, org.id, {
      name: org.name,
      slug: org.slug,
      adminUserId: ids.get('admin')!,
    });
    return {
      orgId: org.id,
      users: Object.fromEntries(
        DEMO_USERS.map((user) => [user.key, { id: ids.get(user.key)!, role: user.role }]),
      ),
      teams: Object.fromEntries(teams),
    };
  });
  return { created: true, orgSlug: DEMO_ORG_SLUG, adminEmail, password, users, demo };
}

/**
 * What to print after seeding: where to sign in and the login, shown once. A password that
 * came from SEED_ADMIN_PASSWORD is not echoed.
 */
export function describeSeed(result: SeedResult, publicUrl: string, passwordFromEnv: boolean): string {
  if (!result.created) return `Demo organisation "${result.orgSlug}" exists already; nothing changed.\n`;
  const others = result.users
    .filter((user) => user.email !== result.adminEmail)
    .map((user) => `${user.email} (${user.role})`)
    .join(', ');
  const lines = [
    '',
    `  Switchboard demo data created (organisation "${result.orgSlug}").`,
    `  Sign in at ${publicUrl} — API docs: ${publicUrl}/api/docs`,
    `    e-mail:   ${result.adminEmail}`,
    `    password: ${passwordFromEnv ? '(the value of SEED_ADMIN_PASSWORD)' : result.password}`,
    `  Other demo users (same password): ${others}`,
    '  This password is shown once; it is stored only as a hash.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}
