import { and, asc, eq, inArray, isNull, ne, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { identityTables } from '../identity/index.js';
import { DONE_STATUSES, TicketStatus, ticketTables } from '../tickets/index.js';
import { agentProfiles, teamRouting } from './assignment.table.js';

/**
 * Queries of automatic assignment. The candidate and agent lists read identity and ticket
 * tables directly: routing runs inside every ticket create, where a round trip per module
 * would cost more than the lookups themselves.
 */

const { teamMembers, users } = identityTables;
const { tickets, ticketCategories } = ticketTables;

export type RoutingRow = typeof teamRouting.$inferSelect;
export type ProfileRow = typeof agentProfiles.$inferSelect;
export type ActiveMode = Exclude<RoutingRow['mode'], 'off'>;

/** Roles that hold tickets; requesters never do. */
export const AGENT_ROLES = ['agent', 'team_lead', 'admin'] as const;

/** Statuses a ticket occupies its assignee in (listed, so the assignee/status index is used). */
const OPEN_STATUSES = sql.raw(
  TicketStatus.options
    .filter((status) => !DONE_STATUSES.includes(status))
    .map((status) => `'${status}'`)
    .join(', '),
);
const ROLE_LIST = sql.raw(AGENT_ROLES.map((role) => `'${role}'`).join(', '));

/** The open tickets a user holds, as a correlated subquery on `userId`. */
function openTickets(orgId: string, userId: SQL | typeof users.id) {
  return sql<number>`(select count(*)::int from ${tickets}
     where ${tickets.orgId} = ${orgId} and ${tickets.assigneeId} = ${userId}
       and ${tickets.status} in (${OPEN_STATUSES}) and ${tickets.deletedAt} is null)`.mapWith(Number);
}

/** An agent who could take a ticket now, with the open tickets they hold. */
export interface Candidate {
  userId: string;
  role: string;
  capacity: number | null;
  skills: string[];
  isSenior: boolean;
  open: number;
}

/**
 * Locks the team's routing row (the team's assignment lock) and returns it, unless routing
 * is off or was never configured: then nothing is locked, as nothing is assigned.
 */
export async function lockActiveRouting(
  tx: Executor,
  orgId: string,
  teamId: string,
): Promise<(RoutingRow & { mode: ActiveMode }) | undefined> {
  const [row] = await tx
    .select()
    .from(teamRouting)
    .where(and(eq(teamRouting.orgId, orgId), eq(teamRouting.teamId, teamId), ne(teamRouting.mode, 'off')))
    .for('update');
  return row as (RoutingRow & { mode: ActiveMode }) | undefined;
}

/**
 * Locks the team's routing row whatever its mode, creating it (mode off) if the team has
 * none: assignments outside routing (escalations) need the same lock.
 */
export async function lockRouting(tx: Executor, orgId: string, teamId: string): Promise<void> {
  await tx
    .insert(teamRouting)
    .values({ teamId, orgId })
    .onConflictDoUpdate({ target: teamRouting.teamId, set: { teamId: sql`excluded.team_id` } });
}

export async function findRouting(tx: Executor, orgId: string, teamId: string) {
  const [row] = await tx
    .select()
    .from(teamRouting)
    .where(and(eq(teamRouting.orgId, orgId), eq(teamRouting.teamId, teamId)));
  return row;
}

export async function upsertRouting(
  tx: Executor,
  values: Pick<RoutingRow, 'orgId' | 'teamId' | 'mode' | 'categorySkills'>,
): Promise<RoutingRow> {
  const now = new Date();
  const [row] = await tx
    .insert(teamRouting)
    .values({ ...values, updatedAt: now })
    .onConflictDoUpdate({
      target: teamRouting.teamId,
      set: { mode: values.mode, categorySkills: values.categorySkills, updatedAt: now },
    })
    .returning();
  return row!;
}

export async function setLastAssignee(tx: Executor, teamId: string, userId: string): Promise<void> {
  await tx.update(teamRouting).set({ lastAssigneeId: userId }).where(eq(teamRouting.teamId, teamId));
}

/** Routing rows that assign automatically, among `teamIds`. */
/** Every team of the organisation whose routing is on. */
export async function routedTeamIds(tx: Executor, orgId: string): Promise<string[]> {
  const rows = await tx
    .select({ teamId: teamRouting.teamId })
    .from(teamRouting)
    .where(and(eq(teamRouting.orgId, orgId), ne(teamRouting.mode, 'off')));
  return rows.map((row) => row.teamId);
}

export async function activeRoutedTeams(tx: Executor, orgId: string, teamIds: readonly string[]) {
  if (teamIds.length === 0) return [];
  const rows = await tx
    .select({ teamId: teamRouting.teamId })
    .from(teamRouting)
    .where(
      and(
        eq(teamRouting.orgId, orgId),
        inArray(teamRouting.teamId, [...teamIds]),
        ne(teamRouting.mode, 'off'),
      ),
    );
  return rows.map((row) => row.teamId);
}

/** Teams (of any organisation: run without row-level security) that assign automatically and have a queue. */
export async function teamsWithQueues(tx: Executor): Promise<Array<{ orgId: string; teamId: string }>> {
  return tx
    .select({ orgId: teamRouting.orgId, teamId: teamRouting.teamId })
    .from(teamRouting)
    .where(
      and(
        ne(teamRouting.mode, 'off'),
        sql`exists (select 1 from ${tickets}
           where ${tickets.orgId} = ${teamRouting.orgId} and ${tickets.teamId} = ${teamRouting.teamId}
             and ${tickets.status} in (${OPEN_STATUSES}) and ${tickets.assigneeId} is null
             and ${tickets.deletedAt} is null)`,
      ),
    );
}

/**
 * Active users with an agent role who are available — the members of `teamId`, or everyone
 * in the organisation when it is null — with their profile and open tickets. One statement.
 */
export async function availableAgents(
  tx: Executor,
  orgId: string,
  teamId: string | null,
): Promise<Candidate[]> {
  const columns = {
    userId: users.id,
    role: users.role,
    capacity: agentProfiles.capacity,
    skills: agentProfiles.skills,
    isSenior: agentProfiles.isSenior,
    open: openTickets(orgId, users.id),
  };
  const agentConditions = and(
    eq(users.orgId, orgId),
    eq(users.isActive, true),
    sql`${users.role} in (${ROLE_LIST})`,
    sql`coalesce(${agentProfiles.availability}, 'available') = 'available'`,
  );
  const rows = teamId
    ? await tx
        .select(columns)
        .from(teamMembers)
        .innerJoin(users, eq(users.id, teamMembers.userId))
        .leftJoin(agentProfiles, eq(agentProfiles.userId, users.id))
        .where(and(eq(teamMembers.orgId, orgId), eq(teamMembers.teamId, teamId), agentConditions))
    : await tx
        .select(columns)
        .from(users)
        .leftJoin(agentProfiles, eq(agentProfiles.userId, users.id))
        .where(agentConditions);
  return rows.map((row) => ({
    ...row,
    skills: row.skills ?? [],
    isSenior: row.isSenior ?? false,
  }));
}

/** A page of the organisation's active agents (any availability) with profile and load, by name. */
export async function listAgents(
  tx: Executor,
  orgId: string,
  filter: { teamId?: string | undefined; limit: number; offset: number },
) {
  const rows = await tx
    .select({
      id: users.id,
      name: users.name,
      email: users.email,
      role: users.role,
      availability: agentProfiles.availability,
      capacity: agentProfiles.capacity,
      skills: agentProfiles.skills,
      isSenior: agentProfiles.isSenior,
      availabilityChangedAt: agentProfiles.availabilityChangedAt,
      openTickets: openTickets(orgId, users.id),
      total: sql<number>`count(*) over ()`.mapWith(Number),
    })
    .from(users)
    .leftJoin(agentProfiles, eq(agentProfiles.userId, users.id))
    .where(
      and(
        eq(users.orgId, orgId),
        eq(users.isActive, true),
        sql`${users.role} in (${ROLE_LIST})`,
        filter.teamId
          ? sql`exists (select 1 from ${teamMembers} where ${teamMembers.teamId} = ${filter.teamId} and ${teamMembers.userId} = ${users.id})`
          : undefined,
      ),
    )
    .orderBy(asc(users.name), asc(users.id))
    .limit(filter.limit)
    .offset(filter.offset);
  return rows;
}

export async function findProfile(
  tx: Executor,
  orgId: string,
  userId: string,
  options: { lock?: boolean } = {},
): Promise<ProfileRow | undefined> {
  const query = tx
    .select()
    .from(agentProfiles)
    .where(and(eq(agentProfiles.orgId, orgId), eq(agentProfiles.userId, userId)));
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

/** Creates or changes an agent's profile; fields not given keep their value (or default). */
export async function upsertProfile(
  tx: Executor,
  orgId: string,
  userId: string,
  changes: Partial<
    Pick<ProfileRow, 'availability' | 'capacity' | 'skills' | 'isSenior' | 'availabilityChangedAt'>
  >,
): Promise<ProfileRow> {
  const set = { ...changes, updatedAt: new Date() };
  const [row] = await tx
    .insert(agentProfiles)
    .values({ userId, orgId, ...set })
    .onConflictDoUpdate({ target: agentProfiles.userId, set })
    .returning();
  return row!;
}

/** Ids among `ids` of the organisation's live categories. */
export async function liveCategoryIds(tx: Executor, orgId: string, ids: readonly string[]) {
  if (ids.length === 0) return new Set<string>();
  const rows = await tx
    .select({ id: ticketCategories.id })
    .from(ticketCategories)
    .where(
      and(
        eq(ticketCategories.orgId, orgId),
        inArray(ticketCategories.id, [...ids]),
        isNull(ticketCategories.deletedAt),
      ),
    );
  return new Set(rows.map((row) => row.id));
}
