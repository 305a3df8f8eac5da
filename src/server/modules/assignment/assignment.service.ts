import type { z } from 'zod';
import type { Database, Executor } from '../../platform/db/database.js';
import { type EventOrigin, recordEvent } from '../../platform/events/events.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import { paginate, toOffset } from '../../platform/http/pagination.js';
import { type Actor, directory, hasPermission, type Permission } from '../identity/index.js';
import type { TicketDraft, TicketsModule } from '../tickets/index.js';
import * as repo from './assignment.repository.js';
import {
  AgentAvailabilityChanged,
  type AgentListQuery,
  AgentProfileUpdated,
  type RoutingBody,
  TeamRoutingUpdated,
  type UpdateAgentBody,
} from './assignment.schema.js';
import type { AVAILABILITIES } from './assignment.table.js';
import type { RoutedTeamsCache } from './routing.cache.js';

type Availability = (typeof AVAILABILITIES)[number];
type Changes = Record<string, { from: unknown; to: unknown }>;

/**
 * A drain transaction assigns at most this many tickets: the team's assignment lock, which
 * new tickets of the team wait for, is held for one to two milliseconds per assignment.
 */
const ASSIGNMENTS_PER_BATCH = 10;
/** Queued tickets a drain looks at when categories need skills (later ones may fit where earlier do not). */
const SKILLED_LOOKAHEAD = 100;

export interface AssignmentContext {
  database: Database;
  tickets: TicketsModule;
  routedTeams: RoutedTeamsCache;
}

/** A ticket about to go back to the queue must not land on the agent who just gave it up. */
export interface Avoid {
  ticketId: string;
  userId: string;
}

const hasRoom = (agent: repo.Candidate): boolean => agent.capacity === null || agent.open < agent.capacity;

/** Free slots of capped agents; uncapped agents count as unlimited. */
function roomLeft(candidates: readonly repo.Candidate[]): number {
  let room = 0;
  for (const agent of candidates) {
    if (agent.capacity === null) return Number.POSITIVE_INFINITY;
    room += Math.max(0, agent.capacity - agent.open);
  }
  return room;
}

/**
 * The agent a ticket goes to, or undefined. Only agents with room and the required skill
 * qualify. Agents are in a stable order (user id) and the turn starts right after
 * `lastAssigneeId`: round robin takes the first in turn, least_open the fewest open tickets,
 * ties going to whoever comes first in turn — so tied agents also take turns.
 */
export function chooseAgent(
  candidates: readonly repo.Candidate[],
  mode: repo.ActiveMode,
  lastAssigneeId: string | null,
  options: { skill?: string | null; excludeUserIds?: readonly string[] } = {},
): repo.Candidate | undefined {
  const { skill, excludeUserIds = [] } = options;
  const eligible = candidates
    .filter(
      (agent) =>
        hasRoom(agent) && (!skill || agent.skills.includes(skill)) && !excludeUserIds.includes(agent.userId),
    )
    .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  const next = lastAssigneeId === null ? 0 : eligible.findIndex((agent) => agent.userId > lastAssigneeId);
  const inTurn = next <= 0 ? eligible : [...eligible.slice(next), ...eligible.slice(0, next)];
  if (mode === 'round_robin') return inTurn[0];
  return inTurn.reduce<repo.Candidate | undefined>(
    (best, agent) => (best === undefined || agent.open < best.open ? agent : best),
    undefined,
  );
}

function requirePermission(actor: Actor, permission: Permission, what: string): void {
  if (!hasPermission(actor, permission)) throw new AppError('FORBIDDEN', `${what} needs ${permission}`);
}

const originOf = (actor: Actor): EventOrigin => ({
  orgId: actor.orgId,
  actorId: actor.userId,
  requestId: actor.requestId ?? null,
});

/** Automatic assignment: routing new tickets, draining team queues, agents' availability and load. */
export class AssignmentService {
  constructor(private readonly context: AssignmentContext) {}

  /**
   * Picks the assignee of a new team ticket inside its creating transaction: locks the
   * team's routing row first, so the counts read next cannot change before the ticket is
   * committed. Statements: the lock (one; nothing more when routing is off), the candidates
   * with their open tickets (one), the round-robin position (one, when someone is picked).
   */
  async route(tx: Executor, draft: TicketDraft): Promise<{ assigneeId: string; mode: string } | null> {
    if (!draft.teamId) return null;
    if (!(await this.context.routedTeams.of(tx, draft.orgId)).has(draft.teamId)) return null;
    const routing = await repo.lockActiveRouting(tx, draft.orgId, draft.teamId);
    if (!routing) return null;
    const candidates = await repo.availableAgents(tx, draft.orgId, draft.teamId);
    const agent = chooseAgent(candidates, routing.mode, routing.lastAssigneeId, {
      skill: skillFor(routing, draft.categoryId),
    });
    if (!agent) return null;
    await repo.setLastAssignee(tx, draft.teamId, agent.userId);
    return { assigneeId: agent.userId, mode: routing.mode };
  }

  /**
   * The least-loaded available senior agent (flagged senior, or of role `seniorRole`) of the
   * team — of the organisation when `teamId` is null — under capacity and not excluded.
   * Takes the team's assignment lock, held until the caller commits its assignment.
   */
  async pickSenior(
    tx: Executor,
    input: { orgId: string; teamId: string | null; excludeUserIds: string[]; seniorRole: string | null },
  ): Promise<string | null> {
    if (input.teamId) await repo.lockRouting(tx, input.orgId, input.teamId);
    const seniors = (await repo.availableAgents(tx, input.orgId, input.teamId)).filter(
      (agent) => agent.isSenior || (input.seniorRole !== null && agent.role === input.seniorRole),
    );
    return chooseAgent(seniors, 'least_open', null, { excludeUserIds: input.excludeUserIds })?.userId ?? null;
  }

  /**
   * Assigns the team's queued tickets, oldest first, while agents have room; returns how
   * many. Each batch is one transaction holding the team's assignment lock. Safe to run
   * twice at once (the lock serialises them) and again after a crash (it re-reads).
   */
  async drainTeam(orgId: string, teamId: string, avoid?: Avoid): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = await this.context.database.withOrg(orgId, (tx) =>
        this.drainBatch(tx, orgId, teamId, avoid),
      );
      total += batch.assigned;
      if (!batch.more) return total;
    }
  }

  private async drainBatch(tx: Executor, orgId: string, teamId: string, avoid: Avoid | undefined) {
    const routing = await repo.lockActiveRouting(tx, orgId, teamId);
    if (!routing) return { assigned: 0, more: false };
    const candidates = await repo.availableAgents(tx, orgId, teamId);
    const room = roomLeft(candidates);
    if (room === 0) return { assigned: 0, more: false };
    // Without skill rules any agent with room fits any ticket: the head of the queue is all
    // that can be assigned. With them, later tickets may fit where earlier ones do not.
    const skilled = Object.keys(routing.categorySkills).length > 0;
    const limit = skilled ? SKILLED_LOOKAHEAD : Math.min(ASSIGNMENTS_PER_BATCH, room);
    const queue = await this.context.tickets.system.teamQueue(tx, orgId, teamId, limit);
    let last = routing.lastAssigneeId;
    let assigned = 0;
    for (const ticket of queue) {
      if (assigned === ASSIGNMENTS_PER_BATCH) break;
      const agent = chooseAgent(candidates, routing.mode, last, {
        skill: skillFor(routing, ticket.categoryId),
        excludeUserIds: avoid?.ticketId === ticket.id ? [avoid.userId] : [],
      });
      if (!agent) {
        if (roomLeft(candidates) === 0) break;
        continue;
      }
      await this.context.tickets.system.assign(tx, ticket, agent.userId, {
        mode: routing.mode,
        queued: true,
      });
      agent.open += 1;
      last = agent.userId;
      assigned += 1;
    }
    if (last && last !== routing.lastAssigneeId) await repo.setLastAssignee(tx, teamId, last);
    const more =
      assigned > 0 &&
      (assigned === ASSIGNMENTS_PER_BATCH || queue.length === limit) &&
      roomLeft(candidates) > 0;
    return { assigned, more };
  }

  /** Teams of `userId` that assign automatically: where a slot the agent frees can be used. */
  async routedTeamsOf(orgId: string, userId: string): Promise<string[]> {
    return this.context.database.withOrg(orgId, async (tx) =>
      repo.activeRoutedTeams(tx, orgId, await directory.teamIdsOf(tx, orgId, userId)),
    );
  }

  /**
   * Every team, in every organisation, that assigns automatically and has tickets waiting:
   * the sweep drains them, catching whatever no event did (a queued ticket that was locked
   * while a slot freed, a membership change).
   */
  async queuedTeams(): Promise<Array<{ orgId: string; teamId: string }>> {
    return this.context.database.transaction((tx) => repo.teamsWithQueues(tx));
  }

  async listAgents(actor: Actor, query: z.output<typeof AgentListQuery>, url: string) {
    requirePermission(actor, 'ticket:view_team', 'Listing agents');
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const rows = await repo.listAgents(tx, actor.orgId, { teamId: query.teamId, ...toOffset(query) });
      const data = rows.map(({ total: _total, ...row }) =>
        presentAgent(row, row, row.openTickets, row.availabilityChangedAt),
      );
      return paginate(data, rows[0]?.total ?? (await this.countAgents(tx, actor, query)), query, url);
    });
  }

  /** The total of a page past the end (no row carries it). */
  private async countAgents(tx: Executor, actor: Actor, query: z.output<typeof AgentListQuery>) {
    if (query.page === 1) return 0;
    const [first] = await repo.listAgents(tx, actor.orgId, { teamId: query.teamId, limit: 1, offset: 0 });
    return first?.total ?? 0;
  }

  /** Sets availability: agents their own, team leads and admins (`ticket:reassign`) anyone's. */
  async setAvailability(actor: Actor, userId: string, availability: Availability) {
    if (userId !== actor.userId)
      requirePermission(actor, 'ticket:reassign', "Changing someone else's availability");
    return this.changeProfile(actor, userId, async (tx, before) => {
      if (before.availability === availability) return;
      await recordEvent(tx, AgentAvailabilityChanged, originOf(actor), userId, {
        userId,
        from: before.availability,
        to: availability,
      });
      return { availability, availabilityChangedAt: new Date() };
    });
  }

  /** Capacity, skills and seniority (`admin:users`). */
  async updateAgent(actor: Actor, userId: string, input: z.output<typeof UpdateAgentBody>) {
    requirePermission(actor, 'admin:users', 'Changing capacity, skills or seniority');
    return this.changeProfile(actor, userId, async (tx, before) => {
      const changes: Changes = {};
      if (input.capacity !== undefined && input.capacity !== before.capacity)
        changes.capacity = { from: before.capacity, to: input.capacity };
      if (input.skills !== undefined && !sameSet(input.skills, before.skills))
        changes.skills = { from: before.skills, to: input.skills };
      if (input.isSenior !== undefined && input.isSenior !== before.isSenior)
        changes.isSenior = { from: before.isSenior, to: input.isSenior };
      if (Object.keys(changes).length === 0) return;
      await recordEvent(tx, AgentProfileUpdated, originOf(actor), userId, { userId, changes });
      return Object.fromEntries(Object.entries(changes).map(([key, change]) => [key, change.to]));
    });
  }

  /** The caller as an agent (GET /me/availability). */
  async ownProfile(actor: Actor) {
    return this.changeProfile(actor, actor.userId);
  }

  /**
   * Reads a user's profile (locked when it may change), lets `change` decide what to write
   * (undefined: nothing) and answers the agent as they are afterwards. Unknown users are
   * 404, requesters 422.
   */
  private async changeProfile(
    actor: Actor,
    userId: string,
    change?: (
      tx: Executor,
      before: Pick<repo.ProfileRow, 'availability' | 'capacity' | 'skills' | 'isSenior'>,
    ) => Promise<Partial<repo.ProfileRow> | undefined>,
  ) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const user = await directory.user(tx, actor.orgId, userId);
      if (!user) throw notFound('User');
      if (user.role === 'requester')
        throw new AppError('UNPROCESSABLE', 'Requesters take no tickets', {
          details: { userId: 'is a requester, not an agent' },
        });
      const stored = await repo.findProfile(tx, actor.orgId, userId, { lock: change !== undefined });
      const before = stored ?? { availability: 'available', capacity: null, skills: [], isSenior: false };
      const set = await change?.(tx, before);
      const profile = set ? await repo.upsertProfile(tx, actor.orgId, userId, set) : stored;
      const open = (await this.context.tickets.system.openTicketCounts(tx, actor.orgId, [userId])).get(
        userId,
      );
      return presentAgent(user, profile ?? before, open ?? 0, profile?.availabilityChangedAt ?? null);
    });
  }

  async getRouting(actor: Actor, teamId: string) {
    requirePermission(actor, 'admin:teams', 'Reading team routing');
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      await requireTeam(tx, actor.orgId, teamId);
      return presentRouting(teamId, await repo.findRouting(tx, actor.orgId, teamId));
    });
  }

  async setRouting(actor: Actor, teamId: string, input: z.output<typeof RoutingBody>) {
    requirePermission(actor, 'admin:teams', 'Configuring team routing');
    const result = await this.context.database.withOrg(actor.orgId, async (tx) => {
      await requireTeam(tx, actor.orgId, teamId);
      const categoryIds = Object.keys(input.categorySkills);
      const live = await repo.liveCategoryIds(tx, actor.orgId, categoryIds);
      const unknown = categoryIds.filter((id) => !live.has(id));
      if (unknown.length > 0)
        throw new AppError('UNPROCESSABLE', 'Invalid team routing', {
          details: {
            categorySkills: Object.fromEntries(unknown.map((id) => [id, 'no category with this id'])),
          },
        });
      const before = await repo.findRouting(tx, actor.orgId, teamId);
      const changes: Changes = {};
      const mode = before?.mode ?? 'off';
      if (input.mode !== mode) changes.mode = { from: mode, to: input.mode };
      if (
        JSON.stringify(sortedEntries(input.categorySkills)) !==
        JSON.stringify(sortedEntries(before?.categorySkills))
      )
        changes.categorySkills = { from: before?.categorySkills ?? {}, to: input.categorySkills };
      if (Object.keys(changes).length === 0) return presentRouting(teamId, before);
      const row = await repo.upsertRouting(tx, {
        orgId: actor.orgId,
        teamId,
        mode: input.mode,
        categorySkills: input.categorySkills,
      });
      await recordEvent(tx, TeamRoutingUpdated, originOf(actor), teamId, { teamId, mode: row.mode, changes });
      return presentRouting(teamId, row);
    });
    await this.context.routedTeams.invalidate(actor.orgId);
    return result;
  }
}

function skillFor(routing: repo.RoutingRow, categoryId: string | null): string | null {
  return categoryId ? (routing.categorySkills[categoryId] ?? null) : null;
}

async function requireTeam(tx: Executor, orgId: string, teamId: string): Promise<void> {
  if (!(await directory.teams(tx, orgId, [teamId])).has(teamId)) throw notFound('Team');
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((item) => b.includes(item));

const sortedEntries = (map: Record<string, string> | undefined) =>
  Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));

function presentAgent(
  user: { id: string; name: string; email: string; role: string },
  profile: {
    availability: Availability | null;
    capacity: number | null;
    skills: string[] | null;
    isSenior: boolean | null;
  },
  openTickets: number,
  availabilityChangedAt: Date | null,
) {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: user.role as (typeof repo.AGENT_ROLES)[number],
    availability: profile.availability ?? 'available',
    capacity: profile.capacity,
    skills: profile.skills ?? [],
    isSenior: profile.isSenior ?? false,
    openTickets,
    availabilityChangedAt: availabilityChangedAt ? availabilityChangedAt.toISOString() : null,
  };
}

function presentRouting(teamId: string, row: repo.RoutingRow | undefined) {
  return {
    teamId,
    mode: row?.mode ?? 'off',
    categorySkills: row?.categorySkills ?? {},
    lastAssigneeId: row?.lastAssigneeId ?? null,
    updatedAt: row ? row.updatedAt.toISOString() : null,
  };
}
