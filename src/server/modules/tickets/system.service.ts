import type { Executor } from '../../platform/db/database.js';
import { EmailIntake } from './email-intake.js';
import { insertNotifications } from './notifications.repository.js';
import { applyChange, assignment, planFields } from './ticket-changes.js';
import type { ChangeOrigin, TicketsContext, TimelineChange } from './tickets.context.js';
import { changingTicket, changingTickets, lockedTicket, recordTicketChanges } from './tickets.context.js';
import type { TicketHistory } from './tickets.repository.js';
import * as repo from './tickets.repository.js';

const PRIORITY_ORDER = ['low', 'medium', 'high', 'critical'] as const;

/**
 * Ticket changes made by the system rather than a person (automatic assignment, SLA
 * escalation), in the caller's transaction. They go through the same plans, timeline,
 * outbox events and hooks as a person's change; the timeline names no actor.
 */
export class SystemTicketChanges {
  /** What inbound mail does to tickets: open one, reply, add a note. */
  readonly email: EmailIntake;

  constructor(private readonly context: TicketsContext) {
    this.email = new EmailIntake(context);
  }

  /**
   * `Database.withOrg` options for a transaction of another module that changes tickets
   * through this one (see `changingTickets`); with `ticketId`, that ticket is read and locked
   * in the round trip of its BEGIN for its first `find` with `lock` (`changingTicket`).
   */
  changing(orgId: string, ticketId?: string) {
    return ticketId ? changingTicket(this.context, orgId, ticketId) : changingTickets(this.context, orgId);
  }

  /** A live ticket, locked for a change when `lock` is set. */
  find(tx: Executor, orgId: string, ticketId: string, options: { lock?: boolean } = {}) {
    return options.lock ? lockedTicket(tx, orgId, ticketId) : repo.findTicket(tx, orgId, ticketId);
  }

  /** `find` without a lock, as a statement for a batch or a transaction's ahead statements. */
  findStatement(orgId: string, ticketId: string) {
    return repo.ticketStatement(orgId, ticketId);
  }

  /** Live tickets by id, locked when `lock` is set (in id order, so lockers never deadlock). */
  findMany(tx: Executor, orgId: string, ticketIds: readonly string[], options: { lock?: boolean } = {}) {
    return repo.findTickets(tx, orgId, ticketIds, options.lock ?? false);
  }

  /** A message of a ticket (body, visibility, author), for mail and other system readers. */
  message(tx: Executor, orgId: string, ticketId: string, messageId: string) {
    return repo.findMessage(tx, orgId, ticketId, messageId);
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
  openTicketCounts(tx: Executor, orgId: string, userIds: readonly string[]): Promise<Map<string, number>> {
    return repo.openTicketCounts(tx, orgId, userIds);
  }

  /**
   * Tickets created since `since` (oldest first, at most `limit`) with what SLA simulation
   * replays: status changes and public replies, each in time order.
   */
  history(tx: Executor, orgId: string, since: Date, limit: number): Promise<TicketHistory[]> {
    return repo.ticketHistories(tx, orgId, since, limit);
  }

  /** A team's unassigned open tickets, oldest first, locked (skipping ones locked elsewhere). */
  teamQueue(tx: Executor, orgId: string, teamId: string, limit: number) {
    return repo.teamQueue(tx, orgId, teamId, limit);
  }
}

function system(orgId: string): ChangeOrigin {
  return { orgId, userId: null };
}
