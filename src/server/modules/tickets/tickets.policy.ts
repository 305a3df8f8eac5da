import { or, type SQL, sql } from 'drizzle-orm';
import { AppError } from '../../platform/http/app-error.js';
import { type Actor, hasPermission, type Permission } from '../identity/index.js';
import { ticketFollowers, tickets } from './tickets.table.js';

/** The caller of a ticket use case, with what decides which tickets they see. */
export interface Viewer {
  actor: Actor;
  /** Live teams the caller belongs to. */
  teamIds: readonly string[];
}

/** Agents (anyone who sees beyond their own tickets) get internal notes and agent fields. */
export function isAgent(actor: Actor): boolean {
  return hasPermission(actor, 'ticket:view_team') || hasPermission(actor, 'ticket:view_all');
}

export function requirePermission(actor: Actor, permission: Permission, what: string): void {
  if (!hasPermission(actor, permission)) throw new AppError('FORBIDDEN', `${what} needs ${permission}`);
}

interface TicketScope {
  teamId: string | null;
  assigneeId: string | null;
  requesterId: string;
}

/**
 * Whether the viewer may see a ticket. `ticket:view_all` sees everything; `ticket:view_team`
 * sees its teams' tickets, tickets with no team yet (someone has to triage them) and its
 * own; everyone sees tickets they requested or follow.
 */
export function canSee(viewer: Viewer, ticket: TicketScope, isFollower: boolean): boolean {
  const { actor } = viewer;
  if (hasPermission(actor, 'ticket:view_all')) return true;
  if (ticket.requesterId === actor.userId || ticket.assigneeId === actor.userId || isFollower) return true;
  if (!hasPermission(actor, 'ticket:view_team')) return false;
  return ticket.teamId === null || viewer.teamIds.includes(ticket.teamId);
}

/** `canSee` as a condition on the tickets table, for lists and search; undefined = all. */
export function visibleCondition(viewer: Viewer): SQL | undefined {
  const { actor } = viewer;
  if (hasPermission(actor, 'ticket:view_all')) return undefined;
  const own = [
    sql`${tickets.requesterId} = ${actor.userId}`,
    sql`${tickets.assigneeId} = ${actor.userId}`,
    sql`exists (select 1 from ${ticketFollowers} where ${ticketFollowers.ticketId} = ${tickets.id} and ${ticketFollowers.userId} = ${actor.userId})`,
  ];
  if (!hasPermission(actor, 'ticket:view_team')) return or(...own);
  const teamIds = viewer.teamIds.length > 0 ? viewer.teamIds : ['00000000-0000-0000-0000-000000000000'];
  return or(
    sql`${tickets.teamId} is null`,
    sql`${tickets.teamId} in ${sql`(${sql.join(
      teamIds.map((id) => sql`${id}::uuid`),
      sql`, `,
    )})`}`,
    ...own,
  );
}

/**
 * Whether changing the assignee needs `ticket:reassign`: taking an unassigned ticket or
 * handing on one's own ticket needs only `ticket:assign`; moving someone else's does.
 */
export function needsReassign(actor: Actor, currentAssigneeId: string | null, nextAssigneeId: string | null) {
  if (currentAssigneeId === null || currentAssigneeId === nextAssigneeId) return false;
  return currentAssigneeId !== actor.userId;
}
