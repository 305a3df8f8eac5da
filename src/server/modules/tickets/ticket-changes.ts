import type { Executor } from '../../platform/db/database.js';
import { AppError } from '../../platform/http/app-error.js';
import { type Actor, directory } from '../identity/index.js';
import { canTransition, lifecycleStamps, nextStatuses, type TicketStatus } from './ticket-status.js';
import {
  type ChangeOrigin,
  recordTicketChanges,
  type TicketsContext,
  type TimelineChange,
} from './tickets.context.js';
import { needsReassign, requirePermission } from './tickets.policy.js';
import * as repo from './tickets.repository.js';
import { MAX_TAGS } from './tickets.schema.js';

/**
 * The one place each kind of ticket change is decided: what the row gets and what the
 * timeline says. Single changes, macros and bulk updates all plan through these.
 */
export interface PlannedChange {
  set: Partial<repo.TicketInsert>;
  timeline: TimelineChange[];
}

export const NO_CHANGE: PlannedChange = { set: {}, timeline: [] };

/** Puts several plans together (later ones win on the same column). */
export function combine(...plans: PlannedChange[]): PlannedChange {
  return {
    set: Object.assign({}, ...plans.map((plan) => plan.set)),
    timeline: plans.flatMap((plan) => plan.timeline),
  };
}

/** A status change with its lifecycle stamps; an illegal transition is a 422. */
export function planStatus(ticket: repo.TicketRow, status: TicketStatus, now = new Date()): PlannedChange {
  if (status === ticket.status) return NO_CHANGE;
  if (!canTransition(ticket.status, status)) {
    throw new AppError('UNPROCESSABLE', `A ${ticket.status} ticket cannot become ${status}`, {
      details: { from: ticket.status, to: status, allowed: nextStatuses(ticket.status) },
    });
  }
  return {
    set: { status, ...lifecycleStamps(status, ticket, now), lastActivityAt: now },
    timeline: [{ type: 'status_changed', changes: { status: { from: ticket.status, to: status } } }],
  };
}

/** Adds and removes tags (an internal change: requesters never see tags). */
export function planTags(
  ticket: repo.TicketRow,
  add: readonly string[] = [],
  remove: readonly string[] = [],
): PlannedChange {
  const removed = new Set(remove);
  const tags = [...new Set([...ticket.tags, ...add])].filter((tag) => !removed.has(tag));
  if (tags.length > MAX_TAGS)
    throw new AppError('UNPROCESSABLE', `A ticket carries at most ${MAX_TAGS} tags`);
  if (tags.length === ticket.tags.length && tags.every((tag, index) => tag === ticket.tags[index]))
    return NO_CHANGE;
  return {
    set: { tags },
    timeline: [{ type: 'updated', isInternal: true, changes: { tags: { from: ticket.tags, to: tags } } }],
  };
}

/** A public field change (priority, title, …) as one `updated` timeline entry. */
export function planFields(
  ticket: repo.TicketRow,
  fields: Partial<Pick<repo.TicketRow, 'priority' | 'title' | 'description' | 'channel'>>,
): PlannedChange {
  const set: Partial<repo.TicketInsert> = {};
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const [key, value] of Object.entries(fields) as Array<[keyof typeof fields, string | undefined]>) {
    if (value === undefined || value === ticket[key]) continue;
    changes[key] = { from: ticket[key], to: value };
    Object.assign(set, { [key]: value });
  }
  if (Object.keys(changes).length === 0) return NO_CHANGE;
  return { set, timeline: [{ type: 'updated', changes }] };
}

/** The change that gives a ticket an assignee and team (no change when both stay). */
export function assignment(
  ticket: repo.TicketRow,
  assigneeId: string | null,
  teamId: string | null,
): PlannedChange {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  if (assigneeId !== ticket.assigneeId) changes.assigneeId = { from: ticket.assigneeId, to: assigneeId };
  if (teamId !== ticket.teamId) changes.teamId = { from: ticket.teamId, to: teamId };
  if (Object.keys(changes).length === 0) return NO_CHANGE;
  return { set: { assigneeId, teamId }, timeline: [{ type: 'assigned', changes }] };
}

/** Why a user cannot be a ticket's assignee, or undefined when they can. */
export async function assigneeProblem(
  tx: Executor,
  orgId: string,
  assigneeId: string,
  teamId: string | null,
): Promise<string | undefined> {
  const assignee = await directory.user(tx, orgId, assigneeId);
  if (!assignee?.isActive) return 'no active user with this id';
  if (assignee.role === 'requester') return 'requesters cannot be assignees';
  if (teamId && !(await directory.isTeamMember(tx, orgId, teamId, assigneeId)))
    return "is not a member of the ticket's team";
  return undefined;
}

/**
 * A new team and/or assignee, checked: the team exists, the assignee may hold the ticket
 * and belongs to its team, and moving someone else's ticket needs ticket:reassign. Moving
 * the ticket to a team its current assignee is not in (without naming a new assignee)
 * leaves it unassigned.
 */
export async function planAssignment(
  tx: Executor,
  actor: Actor,
  ticket: repo.TicketRow,
  wanted: { teamId?: string | null | undefined; assigneeId?: string | null | undefined },
): Promise<PlannedChange> {
  const teamId = wanted.teamId === undefined ? ticket.teamId : wanted.teamId;
  let assigneeId = wanted.assigneeId === undefined ? ticket.assigneeId : wanted.assigneeId;
  if (
    wanted.assigneeId === undefined &&
    assigneeId &&
    teamId &&
    teamId !== ticket.teamId &&
    !(await directory.isTeamMember(tx, actor.orgId, teamId, assigneeId))
  )
    assigneeId = null;
  if (needsReassign(actor, ticket.assigneeId, assigneeId))
    requirePermission(actor, 'ticket:reassign', "Reassigning someone else's ticket");
  const problems: Record<string, string> = {};
  if (teamId && teamId !== ticket.teamId && !(await directory.teams(tx, actor.orgId, [teamId])).has(teamId))
    problems.teamId = 'no team with this id';
  if (assigneeId && (assigneeId !== ticket.assigneeId || teamId !== ticket.teamId)) {
    const problem = await assigneeProblem(tx, actor.orgId, assigneeId, teamId);
    if (problem) problems.assigneeId = problem;
  }
  if (Object.keys(problems).length > 0)
    throw new AppError('UNPROCESSABLE', 'Invalid assignment', { details: problems });
  return assignment(ticket, assigneeId, teamId);
}

/**
 * Applies a plan to a locked ticket: the row (version bumped), its timeline and outbox
 * events, and the saved-view counts it moves. No timeline means nothing changed.
 */
export async function applyChange(
  tx: Executor,
  context: Pick<TicketsContext, 'viewCounts' | 'changeHooks'>,
  actor: ChangeOrigin,
  ticket: repo.TicketRow,
  planned: PlannedChange,
): Promise<repo.TicketRow> {
  if (planned.timeline.length === 0) return ticket;
  const before = await context.viewCounts.matching(tx, actor.orgId, [ticket.id]);
  const updated = await repo.updateTicket(tx, actor.orgId, ticket.id, planned.set);
  await recordTicketChanges(
    context,
    tx,
    actor,
    planned.timeline.map((change) => ({ ticket: updated, change })),
  );
  await context.viewCounts.settle(tx, actor.orgId, [ticket.id], before);
  return updated;
}
