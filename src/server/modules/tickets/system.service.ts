import { and, asc, count, eq, inArray, isNull, notInArray } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { applyChange, assignment, planFields } from './ticket-changes.js';
import { DONE_STATUSES } from './ticket-status.js';
import type { ChangeOrigin, TicketsContext, TimelineChange } from './tickets.context.js';
import { recordTicketChanges } from './tickets.context.js';
import * as repo from './tickets.repository.js';
import { tickets } from './tickets.table.js';

const PRIORITY_ORDER = ['low', 'medium', 'high', 'critical'] as const;

/**
 * Ticket changes made by the system rather than a person (automatic assignment, SLA
 * escalation), in the caller's transaction. They go through the same plans, timeline,
 * outbox events and hooks as a person's change; the timeline names no actor.
 */
export class SystemTicketChanges {
  constructor(private readonly context: TicketsContext) {}

  /** A live ticket, locked for a change when `lock` is set. */
  find(tx: Executor, orgId: string, ticketId: string, options: { lock?: boolean } = {}) {
    return repo.findTicket(tx, orgId, ticketId, options);
  }

  /** Gives a locked ticket a new assignee; `data` says why (shown in the timeline). */
  assign(
    tx: Executor,
    ticket: repo.TicketRow,
    assigneeId: string | null,
    data: Record<string, unknown>,
  ): Promise<repo.TicketRow> {
    const planned = assignment(ticket, assigneeId, ticket.teamId);
    for (const change of planned.timeline) change.data = { ...change.data, ...data, automatic: true };
    return applyChange(tx, this.context, system(ticket.orgId), ticket, planned);
  }

  /** Raises a locked ticket's priority one step (critical stays critical). */
  raisePriority(tx: Executor, ticket: repo.TicketRow, data: Record<string, unknown>) {
    const next =
      PRIORITY_ORDER[Math.min(PRIORITY_ORDER.indexOf(ticket.priority) + 1, PRIORITY_ORDER.length - 1)];
    const planned = planFields(ticket, { priority: next });
    for (const change of planned.timeline) change.data = { ...change.data, ...data, automatic: true };
    return applyChange(tx, this.context, system(ticket.orgId), ticket, planned);
  }

  /** Adds a timeline entry (and its outbox event) without changing the ticket row. */
  record(tx: Executor, ticket: repo.TicketRow, change: TimelineChange) {
    return recordTicketChanges(this.context, tx, system(ticket.orgId), [{ ticket, change }]);
  }

  /** Open (not resolved or closed) tickets held by each of `userIds`. */
  async openTicketCounts(
    tx: Executor,
    orgId: string,
    userIds: readonly string[],
  ): Promise<Map<string, number>> {
    const counts = new Map(userIds.map((id) => [id, 0]));
    if (userIds.length === 0) return counts;
    const rows = await tx
      .select({ assigneeId: tickets.assigneeId, open: count() })
      .from(tickets)
      .where(
        and(
          eq(tickets.orgId, orgId),
          inArray(tickets.assigneeId, [...userIds]),
          notInArray(tickets.status, [...DONE_STATUSES]),
          isNull(tickets.deletedAt),
        ),
      )
      .groupBy(tickets.assigneeId);
    for (const row of rows) if (row.assigneeId) counts.set(row.assigneeId, row.open);
    return counts;
  }

  /** A team's unassigned open tickets, oldest first, locked (skipping ones locked elsewhere). */
  teamQueue(tx: Executor, orgId: string, teamId: string, limit: number) {
    return tx
      .select(repo.ticketColumns)
      .from(tickets)
      .where(
        and(
          eq(tickets.orgId, orgId),
          eq(tickets.teamId, teamId),
          isNull(tickets.assigneeId),
          notInArray(tickets.status, [...DONE_STATUSES]),
          isNull(tickets.deletedAt),
        ),
      )
      .orderBy(asc(tickets.createdAt), asc(tickets.id))
      .limit(limit)
      .for('update', { skipLocked: true });
  }
}

function system(orgId: string): ChangeOrigin {
  return { orgId, userId: null };
}
