import { and, asc, count, eq, ilike, inArray, isNull, notInArray, or, type SQL, sql } from 'drizzle-orm';
import type { BatchStatement, Executor } from '../../platform/db/database.js';
import { statement } from '../../platform/db/statements.js';
import type { Role } from './identity.policy.js';
import {
  apiTokens,
  organizations,
  refreshTokens,
  signingKeys,
  teamMembers,
  teams,
  users,
} from './identity.table.js';

/** Queries of the identity module. Every function takes the executor; none opens a transaction. */

export type UserRow = typeof users.$inferSelect;
export type TeamRow = typeof teams.$inferSelect;
export type OrganizationRow = typeof organizations.$inferSelect;
export type RefreshTokenRow = typeof refreshTokens.$inferSelect;
export type ApiTokenRow = typeof apiTokens.$inferSelect;

// Organizations ---------------------------------------------------------------------------

export async function insertOrganization(tx: Executor, values: { name: string; slug: string }) {
  const [row] = await tx.insert(organizations).values(values).returning();
  return row!;
}

export async function findOrganization(tx: Executor, orgId: string) {
  const [row] = await tx
    .select()
    .from(organizations)
    .where(and(eq(organizations.id, orgId), isNull(organizations.deletedAt)));
  return row;
}

export async function slugExists(tx: Executor, slug: string): Promise<boolean> {
  const [row] = await tx
    .select({ id: organizations.id })
    .from(organizations)
    .where(eq(organizations.slug, slug));
  return row !== undefined;
}

export async function countOrganizations(tx: Executor): Promise<number> {
  const [row] = await tx.select({ n: count() }).from(organizations);
  return row?.n ?? 0;
}

// Users -----------------------------------------------------------------------------------

export async function insertUser(
  tx: Executor,
  values: {
    orgId: string;
    email: string;
    name: string;
    role: Role;
    passwordHash: string | null;
    company?: string | null;
    isVip?: boolean;
  },
) {
  const [row] = await tx.insert(users).values(values).returning();
  return row!;
}

/** Inserts a user unless the address is taken in the organisation (then returns undefined). */
export async function insertUserIfAbsent(
  tx: Executor,
  values: { orgId: string; email: string; name: string; role: Role; passwordHash: string | null },
) {
  const [row] = await tx.insert(users).values(values).onConflictDoNothing().returning();
  return row;
}

/** Active users with this e-mail across organisations (sign-in; system transaction). */
export async function findSignInCandidates(tx: Executor, email: string, orgSlug?: string) {
  const conditions = [eq(users.email, email), eq(users.isActive, true), isNull(organizations.deletedAt)];
  if (orgSlug) conditions.push(eq(organizations.slug, orgSlug));
  return tx
    .select({ user: users, org: organizations })
    .from(users)
    .innerJoin(organizations, eq(organizations.id, users.orgId))
    .where(and(...conditions))
    .limit(5);
}

export async function findUser(tx: Executor, orgId: string, userId: string) {
  const [row] = await tx
    .select()
    .from(users)
    .where(and(eq(users.orgId, orgId), eq(users.id, userId)));
  return row;
}

export async function findUserByEmail(tx: Executor, orgId: string, email: string) {
  const [row] = await tx
    .select()
    .from(users)
    .where(and(eq(users.orgId, orgId), eq(users.email, email)));
  return row;
}

/** What `ensureRequester` needs of a user read ahead of its transaction. */
export interface KnownUser {
  id: string;
  role: Role;
  isActive: boolean;
}

/**
 * The statement, for a batch (`Database.withOrgBatch`), that reads the organisation's user at
 * a lower-cased `email`: the user, or null when the address has none.
 */
export function userAtStatement(orgId: string, email: string): BatchStatement<KnownUser | null> {
  return {
    ...statement(
      (param) => `select id, role, is_active as "isActive" from users
      where org_id = ${param(orgId)} and email = ${param(email)}`,
    ),
    read: (rows) => (rows[0] as KnownUser | undefined) ?? null,
  };
}

export interface UserFilter {
  role?: Role | undefined;
  active?: boolean | undefined;
  teamId?: string | undefined;
  q?: string | undefined;
}

function userConditions(orgId: string, filter: UserFilter): SQL | undefined {
  const conditions: SQL[] = [eq(users.orgId, orgId)];
  if (filter.role) conditions.push(eq(users.role, filter.role));
  if (filter.active !== undefined) conditions.push(eq(users.isActive, filter.active));
  if (filter.teamId) {
    conditions.push(
      inArray(
        users.id,
        sql`(select ${teamMembers.userId} from ${teamMembers} where ${teamMembers.teamId} = ${filter.teamId})`,
      ),
    );
  }
  if (filter.q) {
    const pattern = `%${filter.q.replace(/[\\%_]/g, (match) => `\\${match}`)}%`;
    conditions.push(or(ilike(users.email, pattern), ilike(users.name, pattern))!);
  }
  return and(...conditions);
}

export async function listUsers(
  tx: Executor,
  orgId: string,
  filter: UserFilter,
  page: { limit: number; offset: number },
) {
  const where = userConditions(orgId, filter);
  // Sequential on purpose: one transaction is one connection, which runs one query at a time.
  const rows = await tx
    .select()
    .from(users)
    .where(where)
    .orderBy(asc(users.name), asc(users.id))
    .limit(page.limit)
    .offset(page.offset);
  const [total] = await tx.select({ n: count() }).from(users).where(where);
  return { rows, total: total?.n ?? 0 };
}

export async function updateUser(
  tx: Executor,
  orgId: string,
  userId: string,
  values: Partial<
    Pick<
      UserRow,
      'name' | 'role' | 'passwordHash' | 'isActive' | 'deactivatedAt' | 'lastLoginAt' | 'company' | 'isVip'
    >
  >,
) {
  const [row] = await tx
    .update(users)
    .set({ ...values, updatedAt: new Date() })
    .where(and(eq(users.orgId, orgId), eq(users.id, userId)))
    .returning();
  return row;
}

export async function countActiveAdmins(tx: Executor, orgId: string): Promise<number> {
  const [row] = await tx
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.orgId, orgId), eq(users.role, 'admin'), eq(users.isActive, true)));
  return row?.n ?? 0;
}

// Teams -----------------------------------------------------------------------------------

export async function insertTeam(tx: Executor, values: { orgId: string; name: string; description: string }) {
  const [row] = await tx.insert(teams).values(values).returning();
  return row!;
}

export async function findTeam(tx: Executor, orgId: string, teamId: string) {
  const [row] = await tx
    .select()
    .from(teams)
    .where(and(eq(teams.orgId, orgId), eq(teams.id, teamId), isNull(teams.deletedAt)));
  return row;
}

export async function findTeamByName(tx: Executor, orgId: string, name: string) {
  const [row] = await tx
    .select()
    .from(teams)
    .where(and(eq(teams.orgId, orgId), sql`lower(${teams.name}) = lower(${name})`, isNull(teams.deletedAt)));
  return row;
}

export async function listTeams(tx: Executor, orgId: string, page: { limit: number; offset: number }) {
  const where = and(eq(teams.orgId, orgId), isNull(teams.deletedAt));
  const rows = await tx
    .select({
      team: teams,
      memberCount: sql<number>`(select count(*)::int from ${teamMembers} where ${teamMembers.teamId} = ${teams.id})`,
    })
    .from(teams)
    .where(where)
    .orderBy(asc(teams.name), asc(teams.id))
    .limit(page.limit)
    .offset(page.offset);
  const [total] = await tx.select({ n: count() }).from(teams).where(where);
  return { rows, total: total?.n ?? 0 };
}

export async function updateTeam(
  tx: Executor,
  orgId: string,
  teamId: string,
  values: Partial<Pick<TeamRow, 'name' | 'description' | 'deletedAt'>>,
) {
  const [row] = await tx
    .update(teams)
    .set({ ...values, updatedAt: new Date() })
    .where(and(eq(teams.orgId, orgId), eq(teams.id, teamId), isNull(teams.deletedAt)))
    .returning();
  return row;
}

/** Team ids of each given user (live teams only). */
export async function teamIdsOfUsers(tx: Executor, orgId: string, userIds: string[]) {
  const result = new Map<string, string[]>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return result;
  const rows = await tx
    .select({ userId: teamMembers.userId, teamId: teamMembers.teamId })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .where(and(eq(teamMembers.orgId, orgId), inArray(teamMembers.userId, userIds), isNull(teams.deletedAt)))
    .orderBy(asc(teams.name));
  for (const row of rows) result.get(row.userId)?.push(row.teamId);
  return result;
}

export async function teamsOfUser(tx: Executor, orgId: string, userId: string) {
  return tx
    .select({ id: teams.id, name: teams.name })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .where(and(eq(teamMembers.orgId, orgId), eq(teamMembers.userId, userId), isNull(teams.deletedAt)))
    .orderBy(asc(teams.name));
}

export async function membersOfTeam(tx: Executor, orgId: string, teamId: string) {
  return tx
    .select({ id: users.id, name: users.name, email: users.email, role: users.role })
    .from(teamMembers)
    .innerJoin(users, eq(users.id, teamMembers.userId))
    .where(and(eq(teamMembers.orgId, orgId), eq(teamMembers.teamId, teamId)))
    .orderBy(asc(users.name));
}

export async function existingTeamIds(tx: Executor, orgId: string, teamIds: string[]): Promise<string[]> {
  if (teamIds.length === 0) return [];
  const rows = await tx
    .select({ id: teams.id })
    .from(teams)
    .where(and(eq(teams.orgId, orgId), inArray(teams.id, teamIds), isNull(teams.deletedAt)));
  return rows.map((row) => row.id);
}

export async function existingUserIds(tx: Executor, orgId: string, userIds: string[]): Promise<string[]> {
  if (userIds.length === 0) return [];
  const rows = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.orgId, orgId), inArray(users.id, userIds)));
  return rows.map((row) => row.id);
}

export async function addMemberships(
  tx: Executor,
  orgId: string,
  pairs: Array<{ teamId: string; userId: string }>,
) {
  if (pairs.length === 0) return;
  await tx
    .insert(teamMembers)
    .values(pairs.map((pair) => ({ orgId, ...pair })))
    .onConflictDoNothing();
}

export async function removeUserMemberships(
  tx: Executor,
  orgId: string,
  userId: string,
  keepTeamIds: string[],
) {
  const conditions = [eq(teamMembers.orgId, orgId), eq(teamMembers.userId, userId)];
  if (keepTeamIds.length > 0) conditions.push(notInArray(teamMembers.teamId, keepTeamIds));
  await tx.delete(teamMembers).where(and(...conditions));
}

export async function removeTeamMemberships(
  tx: Executor,
  orgId: string,
  teamId: string,
  keepUserIds: string[],
) {
  const conditions = [eq(teamMembers.orgId, orgId), eq(teamMembers.teamId, teamId)];
  if (keepUserIds.length > 0) conditions.push(notInArray(teamMembers.userId, keepUserIds));
  await tx.delete(teamMembers).where(and(...conditions));
}

// Refresh tokens --------------------------------------------------------------------------

export async function insertRefreshToken(tx: Executor, values: typeof refreshTokens.$inferInsert) {
  await tx.insert(refreshTokens).values(values);
}

/** Locks the row so two concurrent refreshes of one token serialise (the second sees it used). */
export async function lockRefreshToken(tx: Executor, tokenHash: string) {
  const [row] = await tx
    .select()
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, tokenHash))
    .for('update');
  return row;
}

export async function markRefreshTokenUsed(tx: Executor, id: string) {
  await tx.update(refreshTokens).set({ usedAt: new Date() }).where(eq(refreshTokens.id, id));
}

export async function revokeRefreshFamily(tx: Executor, familyId: string) {
  await tx
    .update(refreshTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

/** Revokes every live refresh token of a user; returns the families touched. */
export async function revokeUserRefreshTokens(
  tx: Executor,
  orgId: string,
  userId: string,
): Promise<string[]> {
  const rows = await tx
    .update(refreshTokens)
    .set({ revokedAt: new Date() })
    .where(
      and(eq(refreshTokens.orgId, orgId), eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)),
    )
    .returning({ familyId: refreshTokens.familyId });
  return [...new Set(rows.map((row) => row.familyId))];
}

// API tokens ------------------------------------------------------------------------------

export async function insertApiToken(tx: Executor, values: typeof apiTokens.$inferInsert) {
  const [row] = await tx.insert(apiTokens).values(values).returning();
  return row!;
}

/** Token and owner by hash (authentication; system transaction). */
export async function findApiTokenByHash(tx: Executor, tokenHash: string) {
  const [row] = await tx
    .select({ token: apiTokens, user: users })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(eq(apiTokens.tokenHash, tokenHash));
  return row;
}

export async function listApiTokens(tx: Executor, orgId: string, userId: string) {
  return tx
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.orgId, orgId), eq(apiTokens.userId, userId)))
    .orderBy(asc(apiTokens.createdAt));
}

export async function revokeApiToken(tx: Executor, orgId: string, userId: string, tokenId: string) {
  const [row] = await tx
    .update(apiTokens)
    .set({ revokedAt: new Date() })
    .where(
      and(
        eq(apiTokens.orgId, orgId),
        eq(apiTokens.userId, userId),
        eq(apiTokens.id, tokenId),
        isNull(apiTokens.revokedAt),
      ),
    )
    .returning();
  return row;
}

export async function revokeUserApiTokens(tx: Executor, orgId: string, userId: string): Promise<string[]> {
  const rows = await tx
    .update(apiTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiTokens.orgId, orgId), eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
    .returning({ tokenHash: apiTokens.tokenHash });
  return rows.map((row) => row.tokenHash);
}

export async function touchApiToken(tx: Executor, tokenId: string) {
  await tx.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, tokenId));
}

// Signing keys (system transactions only) -----------------------------------------------

export type SigningKeyRow = typeof signingKeys.$inferSelect;

export function activeSigningKeys(db: Executor): Promise<SigningKeyRow[]> {
  return db
    .select()
    .from(signingKeys)
    .where(isNull(signingKeys.retiredAt))
    .orderBy(asc(signingKeys.createdAt), asc(signingKeys.kid));
}

/** Inserts a key unless its kid exists. */
export async function insertSigningKey(db: Executor, values: typeof signingKeys.$inferInsert): Promise<void> {
  await db.insert(signingKeys).values(values).onConflictDoNothing();
}
