import { and, asc, count, eq, gte, inArray, isNull, notInArray } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { insertNotifications } from './notifications.repository.js';
import { applyChange, assignment, planFields } from './ticket-changes.js';
import { DONE_STATUSES } from './ticket-status.js';
import type { ChangeOrigin, TicketsContext, TimelineChange } from './tickets.context.js';
import { recordTicketChanges } from './tickets.context.js';
import * as repo from './tickets.repository.js';
import { ticketEvents, ticketMessages, tickets } from './tickets.table.js';

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

  /** Live tickets by id, locked when `lock` is set (in id order, so lockers never deadlock). */
  findMany(tx: Executor, orgId: string, ticketIds: readonly string[], options: { lock?: boolean } = {}) {
    return repo.findTickets(tx, orgId, ticketIds, options.lock ?? false);
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

  /**
   * In-app notifications about a ticket, one per user and cause (a replayed job adds none).
   * Returns how many were new.
   */
  notify(
    tx: Executor,
    ticket: Pick<repo.TicketRow, 'orgId' | 'id'>,
    input: { userIds: readonly string[]; kind: string; causeId: string; data: Record<string, unknown> },
  ): Promise<number> {
    return insertNotifications(
      tx,
      [...new Set(input.userIds)].map((userId) => ({
        orgId: ticket.orgId,
        userId,
        kind: input.kind,
        ticketId: ticket.id,
        causeId: input.causeId,
        data: input.data,
      })),
    );
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

  /**
   * Tickets created since `since` (oldest first, at most `limit`) with what SLA simulation
   * replays: status changes and public replies, each in time order.
   */
  async history(tx: Executor, orgId: string, since: Date, limit: number): Promise<TicketHistory[]> {
    const rows = await tx
      .select(repo.ticketColumns)
      .from(tickets)
      .where(and(eq(tickets.orgId, orgId), gte(tickets.createdAt, since), isNull(tickets.deletedAt)))
      .orderBy(asc(tickets.createdAt))
      .limit(limit);
    if (rows.length === 0) return [];
    const ids = rows.map((row) => row.id);
    const statusRows = await tx
      .select({ ticketId: ticketEvents.ticketId, at: ticketEvents.createdAt, changes: ticketEvents.changes })
      .from(ticketEvents)
      .where(and(inArray(ticketEvents.ticketId, ids), eq(ticketEvents.type, 'status_changed')))
      .orderBy(asc(ticketEvents.createdAt), asc(ticketEvents.id));
    const messageRows = await tx
      .select({
        ticketId: ticketMessages.ticketId,
        at: ticketMessages.createdAt,
        byAgent: ticketMessages.byAgent,
      })
      .from(ticketMessages)
      .where(and(inArray(ticketMessages.ticketId, ids), eq(ticketMessages.isInternal, false)))
      .orderBy(asc(ticketMessages.createdAt), asc(ticketMessages.id));
    const history = new Map<string, TicketHistory>(
      rows.map((ticket) => [ticket.id, { ticket, statuses: [], replies: [] }]),
    );
    for (const row of statusRows)
      history.get(row.ticketId)?.statuses.push({ at: row.at, to: String(row.changes.status?.to) });
    for (const row of messageRows)
      history.get(row.ticketId)?.replies.push({ at: row.at, byAgent: row.byAgent });
    return [...history.values()];
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

/** A ticket and the moments of its life that SLA clocks react to. */
export interface TicketHistory {
  ticket: repo.TicketRow;
  /** Status changes: when, and the status entered. */
  statuses: Array<{ at: Date; to: string }>;
  /** Public messages: when, and whether an agent wrote it. */
  replies: Array<{ at: Date; byAgent: boolean }>;
}

function system(orgId: string): ChangeOrigin {
  return { orgId, userId: null };
}
