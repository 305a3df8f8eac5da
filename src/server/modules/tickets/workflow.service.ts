import type { z } from 'zod';
import type { Executor } from '../../platform/db/database.js';
import { AppError } from '../../platform/http/app-error.js';
import { type Actor, directory, hasPermission } from '../identity/index.js';
import { canTransition, lifecycleStamps, nextStatuses, type TicketStatus } from './ticket-status.js';
import {
  recordTicketChanges,
  type TicketsContext,
  type TimelineChange,
  viewerOf,
  visibleTicket,
} from './tickets.context.js';
import { isAgent, needsReassign, requirePermission, type Viewer } from './tickets.policy.js';
import * as repo from './tickets.repository.js';
import type { AssignBody } from './tickets.schema.js';
import type { TicketsService } from './tickets.service.js';

/** Use cases that move a ticket through its life: status, assignment, claim, close. */
export class WorkflowService {
  constructor(
    private readonly context: TicketsContext,
    private readonly tickets: TicketsService,
  ) {}

  async changeStatus(actor: Actor, ticketId: string, status: TicketStatus) {
    return this.change(actor, ticketId, async (_tx, viewer, ticket) => {
      this.assertMayChangeStatus(viewer, ticket, status);
      return this.statusChange(ticket, status);
    });
  }

  /** Closes a ticket; requesters may close their own. */
  async close(actor: Actor, ticketId: string) {
    return this.change(actor, ticketId, async (_tx, viewer, ticket) => {
      this.assertMayChangeStatus(viewer, ticket, 'closed');
      return this.statusChange(ticket, 'closed');
    });
  }

  async assign(actor: Actor, ticketId: string, input: z.output<typeof AssignBody>) {
    requirePermission(actor, 'ticket:assign', 'Assigning a ticket');
    return this.change(actor, ticketId, async (tx, _viewer, ticket) => {
      const teamId = input.teamId === undefined ? ticket.teamId : input.teamId;
      const assigneeId = input.assigneeId === undefined ? ticket.assigneeId : input.assigneeId;
      if (needsReassign(actor, ticket.assigneeId, assigneeId))
        requirePermission(actor, 'ticket:reassign', "Reassigning someone else's ticket");
      const problems: Record<string, string> = {};
      if (
        teamId &&
        teamId !== ticket.teamId &&
        !(await directory.teams(tx, actor.orgId, [teamId])).has(teamId)
      )
        problems.teamId = 'no team with this id';
      if (assigneeId && (assigneeId !== ticket.assigneeId || teamId !== ticket.teamId)) {
        const problem = await this.tickets.assigneeProblem(tx, actor.orgId, assigneeId, teamId);
        if (problem) problems.assigneeId = problem;
      }
      if (Object.keys(problems).length > 0)
        throw new AppError('UNPROCESSABLE', 'Invalid assignment', { details: problems });
      return assignment(ticket, assigneeId, teamId);
    });
  }

  /** Unassigns; the assignee may let go of their own ticket, others need ticket:reassign. */
  async unassign(actor: Actor, ticketId: string) {
    requirePermission(actor, 'ticket:assign', 'Unassigning a ticket');
    return this.change(actor, ticketId, async (_tx, _viewer, ticket) => {
      if (needsReassign(actor, ticket.assigneeId, null))
        requirePermission(actor, 'ticket:reassign', "Unassigning someone else's ticket");
      return assignment(ticket, null, ticket.teamId);
    });
  }

  /**
   * Takes an unassigned ticket for oneself in a single conditional UPDATE: of concurrent
   * claims exactly one matches a row; the others get a 409 naming the winner.
   */
  async claim(actor: Actor, ticketId: string) {
    requirePermission(actor, 'ticket:assign', 'Claiming a ticket');
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId);
      if (
        ticket.teamId &&
        !(await directory.isTeamMember(tx, actor.orgId, ticket.teamId, actor.userId)) &&
        !hasPermission(actor, 'ticket:view_all')
      )
        throw new AppError('UNPROCESSABLE', "Only members of the ticket's team can claim it");
      const before = await this.context.viewCounts.matching(tx, actor.orgId, [ticket.id]);
      const claimed = await repo.claimTicket(tx, actor.orgId, ticket.id, actor.userId);
      if (!claimed) {
        const current = await repo.findTicket(tx, actor.orgId, ticket.id);
        const owner = current?.assigneeId
          ? await directory.user(tx, actor.orgId, current.assigneeId)
          : undefined;
        throw new AppError(
          'CONFLICT',
          owner ? `Already assigned to ${owner.name}` : 'The ticket was claimed first',
          {
            details: { assigneeId: current?.assigneeId ?? null, version: current?.version },
          },
        );
      }
      await recordTicketChanges(tx, actor, [
        {
          ticket: claimed,
          change: {
            type: 'assigned',
            changes: { assigneeId: { from: null, to: actor.userId } },
            data: { claimed: true },
          },
        },
      ]);
      await this.context.viewCounts.settle(tx, actor.orgId, [ticket.id], before);
      return this.tickets.detail(tx, viewer, claimed);
    });
  }

  private assertMayChangeStatus(viewer: Viewer, ticket: repo.TicketRow, status: TicketStatus): void {
    const { actor } = viewer;
    if (!isAgent(actor)) {
      // Requesters may close or (via a reply) reopen their own ticket, nothing else.
      if (status !== 'closed' || ticket.requesterId !== actor.userId)
        throw new AppError('FORBIDDEN', 'Requesters may only close their own tickets');
    } else {
      requirePermission(actor, 'ticket:reply', 'Changing a ticket status');
    }
    if (!canTransition(ticket.status, status)) {
      throw new AppError('UNPROCESSABLE', `A ${ticket.status} ticket cannot become ${status}`, {
        details: { from: ticket.status, to: status, allowed: nextStatuses(ticket.status) },
      });
    }
  }

  private statusChange(ticket: repo.TicketRow, status: TicketStatus): PlannedChange {
    const stamps = lifecycleStamps(status, ticket, new Date());
    return {
      set: { status, ...stamps, lastActivityAt: new Date() },
      timeline: [{ type: 'status_changed', changes: { status: { from: ticket.status, to: status } } }],
    };
  }

  /** Locks the ticket, plans a change, applies it with its timeline and view counts. */
  private async change(
    actor: Actor,
    ticketId: string,
    plan: (tx: Executor, viewer: Viewer, ticket: repo.TicketRow) => Promise<PlannedChange>,
  ) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId, { lock: true });
      const planned = await plan(tx, viewer, ticket);
      if (planned.timeline.length === 0) return this.tickets.detail(tx, viewer, ticket);
      const before = await this.context.viewCounts.matching(tx, actor.orgId, [ticket.id]);
      const updated = await repo.updateTicket(tx, actor.orgId, ticket.id, planned.set);
      await recordTicketChanges(
        tx,
        actor,
        planned.timeline.map((change) => ({ ticket: updated, change })),
      );
      await this.context.viewCounts.settle(tx, actor.orgId, [ticket.id], before);
      return this.tickets.detail(tx, viewer, updated);
    });
  }
}

export interface PlannedChange {
  set: Partial<repo.TicketInsert>;
  timeline: TimelineChange[];
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
  if (Object.keys(changes).length === 0) return { set: {}, timeline: [] };
  return { set: { assigneeId, teamId }, timeline: [{ type: 'assigned', changes }] };
}
