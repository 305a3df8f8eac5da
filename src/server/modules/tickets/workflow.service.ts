import type { z } from 'zod';
import type { Executor } from '../../platform/db/database.js';
import { AppError } from '../../platform/http/app-error.js';
import { type Actor, directory, hasPermission } from '../identity/index.js';
import { applyChange, assignment, type PlannedChange, planAssignment, planStatus } from './ticket-changes.js';
import type { TicketStatus } from './ticket-status.js';
import {
  changingTicket,
  recordTicketChanges,
  type TicketsContext,
  viewerOf,
  visibleTicket,
} from './tickets.context.js';
import { isAgent, needsReassign, requirePermission, type Viewer } from './tickets.policy.js';
import * as repo from './tickets.repository.js';
import type { AssignBody, CollisionGuard } from './tickets.schema.js';
import { assertNoCollision, type TicketsService } from './tickets.service.js';

/** Whether the caller may move a ticket to `status` (the transition itself is planStatus's). */
export function assertMayChangeStatus(actor: Actor, ticket: repo.TicketRow, status: TicketStatus): void {
  if (isAgent(actor)) {
    requirePermission(actor, 'ticket:reply', 'Changing a ticket status');
    return;
  }
  // Requesters may close or (via a reply) reopen their own ticket, nothing else.
  if (status !== 'closed' || ticket.requesterId !== actor.userId)
    throw new AppError('FORBIDDEN', 'Requesters may only close their own tickets');
}

/** Use cases that move a ticket through its life: status, assignment, claim, close. */
export class WorkflowService {
  constructor(
    private readonly context: TicketsContext,
    private readonly tickets: TicketsService,
  ) {}

  async changeStatus(
    actor: Actor,
    ticketId: string,
    status: TicketStatus,
    guard: z.output<typeof CollisionGuard> = {},
  ) {
    return this.change(actor, ticketId, async (tx, viewer, ticket) => {
      assertMayChangeStatus(viewer.actor, ticket, status);
      await assertNoCollision(tx, actor, ticket, guard);
      return planStatus(ticket, status);
    });
  }

  /** Closes a ticket; requesters may close their own. */
  async close(actor: Actor, ticketId: string) {
    return this.changeStatus(actor, ticketId, 'closed');
  }

  async assign(actor: Actor, ticketId: string, input: z.output<typeof AssignBody>) {
    requirePermission(actor, 'ticket:assign', 'Assigning a ticket');
    return this.change(actor, ticketId, async (tx, _viewer, ticket) => {
      await assertNoCollision(tx, actor, ticket, input);
      return planAssignment(tx, actor, ticket, input);
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
      const viewer = await viewerOf(this.context, tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId);
      if (
        ticket.teamId &&
        !hasPermission(actor, 'ticket:view_all') &&
        !(await directory.isTeamMember(tx, actor.orgId, ticket.teamId, actor.userId))
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
      await recordTicketChanges(this.context, tx, actor, [
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

  /** Locks the ticket, plans a change and applies it. */
  private async change(
    actor: Actor,
    ticketId: string,
    plan: (tx: Executor, viewer: Viewer, ticket: repo.TicketRow) => Promise<PlannedChange>,
  ) {
    return this.context.database.withOrg(
      actor.orgId,
      async (tx) => {
        const viewer = await viewerOf(this.context, tx, actor);
        const ticket = await visibleTicket(tx, viewer, ticketId, { lock: true });
        const updated = await applyChange(tx, this.context, actor, ticket, await plan(tx, viewer, ticket));
        return this.tickets.detail(tx, viewer, updated);
      },
      changingTicket(this.context, actor.orgId, ticketId),
    );
  }
}
