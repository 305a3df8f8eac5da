import { and, eq, ilike, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { rowsOf } from '../../platform/db/migrations.js';
import type { Role } from './identity.policy.js';
import { teamIdsOfUsers } from './identity.repository.js';
import { teamMembers, teams, users } from './identity.table.js';

/** A user as other modules see them. */
export interface DirectoryUser {
  id: string;
  name: string;
  email: string;
  role: Role;
  isActive: boolean;
}

export interface DirectoryTeam {
  id: string;
  name: string;
}

const userColumns = {
  id: users.id,
  name: users.name,
  email: users.email,
  role: users.role,
  isActive: users.isActive,
};

/** Distinct ids as a uuid[] parameter (one statement shape whatever the count). */
const uuidArray = (ids: readonly string[]) => sql`${`{${[...new Set(ids)].join(',')}}`}::uuid[]`;

/**
 * Read-only lookups of users and teams for other modules, run inside the caller's
 * transaction (so row-level security and the caller's snapshot apply). Other modules
 * never query identity tables themselves.
 */
export const directory = {
  async users(tx: Executor, orgId: string, ids: readonly string[]): Promise<Map<string, DirectoryUser>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    const rows = await tx
      .select(userColumns)
      .from(users)
      .where(and(eq(users.orgId, orgId), inArray(users.id, unique)));
    return new Map(rows.map((row) => [row.id, row]));
  },

  /**
   * Users and live teams by id in one statement: presenting tickets needs both, and a
   * round trip costs more than the lookup.
   */
  async names(
    tx: Executor,
    orgId: string,
    userIds: readonly string[],
    teamIds: readonly string[],
  ): Promise<{ users: Map<string, DirectoryUser>; teams: Map<string, DirectoryTeam> }> {
    if (teamIds.length === 0) return { users: await directory.users(tx, orgId, userIds), teams: new Map() };
    if (userIds.length === 0) return { users: new Map(), teams: await directory.teams(tx, orgId, teamIds) };
    const rows = rowsOf<DirectoryUser & { isTeam: boolean }>(
      await tx.execute(sql`
        select ${users.id} as "id", ${users.name} as "name", ${users.email} as "email",
               ${users.role} as "role", ${users.isActive} as "isActive", false as "isTeam"
          from ${users} where ${users.orgId} = ${orgId} and ${users.id} = any(${uuidArray(userIds)})
        union all
        select ${teams.id}, ${teams.name}, null, null, null, true
          from ${teams}
         where ${teams.orgId} = ${orgId} and ${teams.id} = any(${uuidArray(teamIds)}) and ${teams.deletedAt} is null`),
    );
    const result = { users: new Map<string, DirectoryUser>(), teams: new Map<string, DirectoryTeam>() };
    for (const { isTeam, ...row } of rows) {
      if (isTeam) result.teams.set(row.id, { id: row.id, name: row.name });
      else result.users.set(row.id, row);
    }
    return result;
  },

  /** `requesterTraits` of many users at once. */
  async requesterTraitsOf(
    tx: Executor,
    orgId: string,
    ids: readonly string[],
  ): Promise<Map<string, { company: string | null; isVip: boolean }>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    const rows = await tx
      .select({ id: users.id, company: users.company, isVip: users.isVip })
      .from(users)
      .where(and(eq(users.orgId, orgId), sql`${users.id} = any(${uuidArray(unique)})`));
    return new Map(rows.map(({ id, ...traits }) => [id, traits]));
  },

  /** What SLA policies choose by: the requester's company and VIP flag. */
  async requesterTraits(
    tx: Executor,
    orgId: string,
    id: string,
  ): Promise<{ company: string | null; isVip: boolean } | undefined> {
    const [row] = await tx
      .select({ company: users.company, isVip: users.isVip })
      .from(users)
      .where(and(eq(users.orgId, orgId), eq(users.id, id)));
    return row;
  },

  async user(tx: Executor, orgId: string, id: string): Promise<DirectoryUser | undefined> {
    return (await directory.users(tx, orgId, [id])).get(id);
  },

  /** Users by e-mail address (lower-cased), for @mentions. */
  async usersByEmail(tx: Executor, orgId: string, emails: readonly string[]): Promise<DirectoryUser[]> {
    const unique = [...new Set(emails.map((email) => email.toLowerCase()))];
    if (unique.length === 0) return [];
    return tx
      .select(userColumns)
      .from(users)
      .where(and(eq(users.orgId, orgId), inArray(users.email, unique)));
  },

  /** Ids of users whose name or e-mail contains `text` (case-insensitive), for search. */
  async matchUserIds(tx: Executor, orgId: string, text: string, limit = 50): Promise<string[]> {
    const pattern = `%${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
    const rows = await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.orgId, orgId), or(ilike(users.email, pattern), ilike(users.name, pattern))))
      .limit(limit);
    return rows.map((row) => row.id);
  },

  async teams(tx: Executor, orgId: string, ids: readonly string[]): Promise<Map<string, DirectoryTeam>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    const rows = await tx
      .select({ id: teams.id, name: teams.name })
      .from(teams)
      .where(and(eq(teams.orgId, orgId), inArray(teams.id, unique), isNull(teams.deletedAt)));
    return new Map(rows.map((row) => [row.id, row]));
  },

  /** The members of a team. */
  async teamMembers(tx: Executor, orgId: string, teamId: string): Promise<DirectoryUser[]> {
    return tx
      .select(userColumns)
      .from(teamMembers)
      .innerJoin(users, eq(users.id, teamMembers.userId))
      .where(and(eq(teamMembers.orgId, orgId), eq(teamMembers.teamId, teamId)))
      .orderBy(users.id);
  },

  /** Ids of the live teams a user belongs to. */
  async teamIdsOf(tx: Executor, orgId: string, userId: string): Promise<string[]> {
    return (await teamIdsOfUsers(tx, orgId, [userId])).get(userId) ?? [];
  },

  async isTeamMember(tx: Executor, orgId: string, teamId: string, userId: string): Promise<boolean> {
    const rows = await tx
      .select({ one: sql<number>`1` })
      .from(teamMembers)
      .where(
        and(eq(teamMembers.orgId, orgId), eq(teamMembers.teamId, teamId), eq(teamMembers.userId, userId)),
      )
      .limit(1);
    return rows.length > 0;
  },
};
